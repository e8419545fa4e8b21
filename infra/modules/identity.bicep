// The one identity the function app uses for storage, Cosmos DB, SignalR, Key Vault and App Insights.
// User-assigned, so its role assignments exist before the app first starts.
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
