// Host storage (AzureWebJobsStorage) and the Flex Consumption deployment container. Shared keys are
// off: the host and the deployment both authenticate with the app's managed identity.
param name string
param location string
param tags object
param deploymentContainerName string
param blobOwnerPrincipalId string
@description('The container of Parse files (Parse:Files:Blob:Container).')
param filesContainerName string = 'files'

var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageBlobDelegator = 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource blobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, blobOwnerPrincipalId, storageBlobDataOwner)
  scope: account
  properties: {
    principalId: blobOwnerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
  }
}

// Parse files (Parse:Files:Store 'blob'): their own private container. The app's identity reads and writes its
// blobs (Data Contributor on the container) and signs user-delegation SAS for signed file URLs (Delegator, which
// Azure grants on the account only). Shared keys stay off: the app authenticates with its identity.
resource filesContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobs
  name: filesContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource filesContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(filesContainer.id, blobOwnerPrincipalId, storageBlobDataContributor)
  scope: filesContainer
  properties: {
    principalId: blobOwnerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
  }
}

resource filesDelegator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, blobOwnerPrincipalId, storageBlobDelegator)
  scope: account
  properties: {
    principalId: blobOwnerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDelegator)
  }
}

output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output filesContainerName string = filesContainer.name
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainer.name}'
