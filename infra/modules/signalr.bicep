// Azure SignalR Service in Serverless mode: clients negotiate through the app's /negotiate and the app
// sends messages through the service's REST API (and the change-feed functions' signalR output binding).
// Access keys are off, so every call is authorized by the app's identity through RBAC. It holds
// "SignalR Service Owner", the built-in role for a Serverless negotiation server: it needs the REST API
// (users/{user}/:send), client token generation (:generateToken) and, for the binding, key generation.
// "SignalR App Server" alone grants neither :generateToken nor the REST sends.
param name string
param location string
param tags object
param appPrincipalId string
param corsAllowedOrigins array

var signalRServiceOwner = '7e4f1700-ea5a-4f59-8f37-079cfe29dce3'

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

resource serviceOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(signalr.id, appPrincipalId, signalRServiceOwner)
  scope: signalr
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', signalRServiceOwner)
  }
}

output serviceUri string = 'https://${signalr.properties.hostName}'
