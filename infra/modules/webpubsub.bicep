// Azure Web PubSub for Parse LiveQuery (docs/livequery.md, "In Azure"): the service holds the clients' WebSockets,
// which Functions cannot, and calls the app's upstream endpoint with their frames. Access keys are off: the app
// sends with its identity ("Web PubSub Service Owner": the data-plane REST API, :send and connection close), and
// the service calls upstream with a managed-identity token of its own identity, which the app checks.
// The hub and its event handler are a separate module (webpubsub-hub.bicep): they name the function app's URL,
// which exists only after the function app, whose settings name this service.
param name string
param location string
param tags object
@description('Resource id of the user-assigned identity the service calls upstream with (its own, not the app\'s).')
param serviceIdentityId string
param appPrincipalId string

// Web PubSub Service Owner: full access to the data-plane REST API.
var webPubSubServiceOwner = '12cf5a90-567b-43ae-8102-96cf46c7d9b4'

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard_S1'
    tier: 'Standard'
    capacity: 1
  }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${serviceIdentityId}': {} }
  }
  properties: {
    disableLocalAuth: true
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
    tls: { clientCertEnabled: false }
  }
}

resource serviceOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(webPubSub.id, appPrincipalId, webPubSubServiceOwner)
  scope: webPubSub
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', webPubSubServiceOwner)
  }
}

output name string = webPubSub.name
output endpoint string = 'https://${webPubSub.properties.hostName}'
output hostName string = webPubSub.properties.hostName
