// The function app: Flex Consumption (Linux), runtime `custom`. The Functions host starts app/Crm.Functions
// (host.json customHandler) and forwards each HTTP request unchanged to it. Every connection is
// identity-based through the user-assigned identity; the only secret, the master key, is a Key Vault
// reference.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
@description('Blob endpoint of the account holding Parse files (https://<account>.blob.core.windows.net/).')
param filesAccountUrl string
param filesContainerName string
param deploymentContainerUrl string
param appInsightsConnectionString string
param cosmosEndpoint string
param cosmosDatabaseName string
param signalRServiceUri string
param masterKeySecretUri string
@description('Account mail relay: host (empty: no mail), port, useTls, username, secretUri (its password in Key Vault), from.')
param smtp object
param parseAppId string
@description('Parse LiveQuery through Web PubSub: endpoint, hub, upstreamAudience and upstreamPrincipalId (the service identity\'s object id).')
param liveQuery object
param corsAllowedOrigins array
param maximumInstanceCount int
param instanceMemoryMB int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with this identity instead of a system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      // The platform answers CORS (preflights never reach the handler: no function accepts OPTIONS), so it
      // must allow credentials: the SignalR browser client negotiates with credentials, and without
      // Access-Control-Allow-Credentials the browser drops the answer. Origins must then be explicit (no '*').
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: true
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
  }
}

// App settings as a child resource so they can name the site's own host (Parse__PublicServerUrl).
// Names match what the app reads (Parse__X binds to ParseSettings.X); `<conn>__credential` +
// `<conn>__clientId` make the host's identity-based connections use the user-assigned identity.
// The app's own CORS allow-list (Parse__Cors__AllowedOrigins__0, __1, …): its default is localhost only.
// Account mails: only with a relay; the password is a Key Vault reference like the master key.
var mailSettings = empty(smtp.host) ? {} : union({
  Parse__Email__SmtpHost: smtp.host
  Parse__Email__SmtpPort: string(smtp.port)
  Parse__Email__UseTls: smtp.useTls
  Parse__Email__Username: smtp.username
  Parse__Email__From: smtp.from
}, empty(smtp.secretUri) ? {} : { Parse__Email__Password: '@Microsoft.KeyVault(SecretUri=${smtp.secretUri})' })
var appCorsOrigins = toObject(range(0, length(corsAllowedOrigins)), i => 'Parse__Cors__AllowedOrigins__${i}', i => corsAllowedOrigins[i])

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(appCorsOrigins, mailSettings, {
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // DefaultAzureCredential in the app picks the user-assigned identity by this id.
    AZURE_CLIENT_ID: identityClientId
    Parse__AppId: parseAppId
    Parse__MasterKey: '@Microsoft.KeyVault(SecretUri=${masterKeySecretUri})'
    Parse__MountPath: '/parse'
    Parse__Store: 'cosmos'
    Parse__Cosmos__Endpoint: cosmosEndpoint
    Parse__Cosmos__Database: cosmosDatabaseName
    // Parse files on Blob Storage, reached with the app's identity (DefaultAzureCredential, AZURE_CLIENT_ID).
    Parse__Files__Store: 'blob'
    Parse__Files__Blob__AccountUrl: filesAccountUrl
    Parse__Files__Blob__Container: filesContainerName
    // The host forwards requests to the app over loopback http, so the public URL cannot be derived
    // from the request.
    Parse__PublicServerUrl: 'https://${site.properties.defaultHostName}/parse'
    // Connection "CosmosDb" of the cosmosDBTrigger functions.
    CosmosDb__accountEndpoint: cosmosEndpoint
    CosmosDb__credential: 'managedidentity'
    CosmosDb__clientId: identityClientId
    // Connection "AzureSignalRConnectionString" (the SignalR bindings' default).
    AzureSignalRConnectionString__serviceUri: signalRServiceUri
    AzureSignalRConnectionString__credential: 'managedidentity'
    AzureSignalRConnectionString__clientId: identityClientId
    // The app's own calls (/negotiate, pushes of deletes): the same service and identity, in the service's
    // connection-string format (no key: local auth is disabled).
    Azure__SignalR__ConnectionString: 'Endpoint=${signalRServiceUri};AuthType=azure.msi;ClientId=${identityClientId};Version=1.0;'
    // Parse LiveQuery through Web PubSub: REST sends with the app's identity; upstream calls must carry a token of the
    // service's identity (v1 tokens, what managed identities get, or v2), signed with the tenant's keys.
    Parse__LiveQuery__WebPubSub__Endpoint: liveQuery.endpoint
    Parse__LiveQuery__WebPubSub__Hub: liveQuery.hub
    Parse__LiveQuery__WebPubSub__UpstreamAuthority: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    Parse__LiveQuery__WebPubSub__UpstreamAudience: liveQuery.upstreamAudience
    Parse__LiveQuery__WebPubSub__UpstreamIssuers__0: 'https://sts.windows.net/${tenant().tenantId}/'
    Parse__LiveQuery__WebPubSub__UpstreamIssuers__1: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    Parse__LiveQuery__WebPubSub__UpstreamPrincipalId: liveQuery.upstreamPrincipalId
  })
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
