// Azure SignalR Service in Serverless mode: clients negotiate through the app's /negotiate and the app
// sends messages through the service's REST API (and the change-feed functions' signalR output binding).
// Access keys are off, so every call is authorized by the app's identity through RBAC. It holds
// "SignalR REST API Owner", the least role that covers what the app and the output binding call: the REST
// API (users/{user}/:send, connection management) and client token generation (:generateToken). "SignalR
// App Server" grants neither; "SignalR Service Owner" adds server connections and access-key actions that a
// Serverless service with local auth off never uses.
param name string
param location string
param tags object
param appPrincipalId string
param corsAllowedOrigins array

var signalRRestApiOwner = 'fd53cd77-2268-407a-8f46-7e7863d0f521'

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

resource restApiOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(signalr.id, appPrincipalId, signalRRestApiOwner)
  scope: signalr
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', signalRRestApiOwner)
  }
}

output serviceUri string = 'https://${signalr.properties.hostName}'
