// Azure SignalR Service in Serverless mode: clients negotiate through a function and the app sends
// messages through the service's REST API. Access keys are off; the app's identity holds the
// "SignalR App Server" role and signs client tokens through the service.
param name string
param location string
param tags object
param appServerPrincipalId string
param corsAllowedOrigins array

var signalRAppServer = '420fcaa2-552c-430f-98ca-3264be4806c7'

resource signalr 'Microsoft.SignalRService/signalR@2024-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'SignalR'
  sku: {
    name: 'Standard_S1'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    features: [
      { flag: 'ServiceMode', value: 'Serverless' }
      { flag: 'EnableConnectivityLogs', value: 'True' }
    ]
    cors: { allowedOrigins: corsAllowedOrigins }
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
    tls: { clientCertEnabled: false }
  }
}

resource appServer 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(signalr.id, appServerPrincipalId, signalRAppServer)
  scope: signalr
  properties: {
    principalId: appServerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', signalRAppServer)
  }
}

output serviceUri string = 'https://${signalr.properties.hostName}'
