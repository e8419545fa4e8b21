// Cosmos DB for NoSQL, serverless: database `crm` with one container per Parse class plus the store's
// bookkeeping containers and the change-feed lease container. Keys are disabled (disableLocalAuth):
// every data-plane call uses Entra ID through the built-in Data Contributor role, and containers can
// only be created here, by the control plane, so each class the app stores must be listed below.
param accountName string
param location string
param tags object
param databaseName string

@description('Indexing policies: `default` for every container, `containers.<name>` to replace it for one container.')
param indexing object

@description('Principals (object ids) given the built-in Cosmos DB Data Contributor role on the account.')
param dataContributorPrincipalIds array

@description('Containers partitioned by /ownerId: one per Parse class, plus the schema, relation and unique-value stores.')
param classContainers array = [
  '_User'
  '_Role'
  '_Session'
  '_Installation'
  'Company'
  'Contact'
  'Deal'
  'Activity'
  '_schema'
  '_relations'
  '_unique'
]

// Cosmos DB built-in data-plane role "Cosmos DB Built-in Data Contributor".
var dataContributorRoleId = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    capabilities: [{ name: 'EnableServerless' }]
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: { id: databaseName }
  }
}

resource containers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for name in classContainers: {
    parent: database
    name: name
    properties: {
      resource: {
        id: name
        partitionKey: { paths: ['/ownerId'], kind: 'Hash', version: 2 }
        indexingPolicy: indexing.containers[?name] ?? indexing.default
      }
    }
  }
]

// The change-feed processor of the cosmosDBTrigger functions keeps its leases here; its documents are
// keyed by id.
resource leases 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = {
  parent: database
  name: 'leases'
  properties: {
    resource: {
      id: 'leases'
      partitionKey: { paths: ['/id'], kind: 'Hash', version: 2 }
    }
  }
}

resource dataContributors 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = [
  for principalId in dataContributorPrincipalIds: {
    parent: account
    name: guid(account.id, principalId, dataContributorRoleId)
    properties: {
      principalId: principalId
      roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
      scope: account.id
    }
  }
]

output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
output containerNames array = [for (name, i) in classContainers: containers[i].name]
