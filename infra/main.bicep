// Crm.Functions on Azure: the Parse REST server as an Azure Functions custom handler (Flex Consumption,
// Linux) over Cosmos DB for NoSQL (serverless), with SignalR Service for live updates, Key Vault for the
// master key, and one user-assigned managed identity for every data-plane call, so no key or connection
// string sits in app settings.
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('azd environment name; names the resource group and seeds the unique resource names.')
param environmentName string

@minLength(1)
// Regions known to offer the Flex Consumption plan since its first release. More regions have it now and
// the list grows: `az functionapp list-flexconsumption-locations` prints today's; add yours here if needed.
@allowed([
  'australiaeast'
  'eastasia'
  'eastus'
  'eastus2'
  'northeurope'
  'southcentralus'
  'southeastasia'
  'swedencentral'
  'uksouth'
  'westus2'
])
@description('Azure region of every resource except the web app. It must offer the Flex Consumption plan.')
param location string

@secure()
@minLength(12)
@description('Parse master key (bypasses ACLs). Stored in Key Vault; the app reads it through a Key Vault reference.')
param parseMasterKey string

@description('Parse application id clients must send.')
param parseAppId string = 'crm'

@description('Object id of a user or group given data access to Cosmos DB for administration and seeding; empty for none.')
param principalId string = ''

@description('Further origins browsers may call the API from (the web app\'s own origin is always allowed). Parse clients send custom headers, so browser apps need their origin here.')
param corsAllowedOrigins array = []

@allowed(['centralus', 'eastus2', 'westus2', 'westeurope', 'eastasia'])
@description('Region of the web app (Azure Static Web Apps runs in a few regions only).')
param webLocation string = 'westeurope'

@minValue(1)
@maxValue(1000)
@description('Upper bound on Flex Consumption instances.')
param maximumInstanceCount int = 100

@allowed([512, 2048, 4096])
@description('Memory per Flex Consumption instance, in MB.')
param instanceMemoryMB int = 2048

@description('SMTP relay for password reset and verification mails (e.g. smtp.azurecomm.net for Azure Communication Services); empty: no mail, the mail routes answer code 108.')
param smtpHost string = ''

@description('SMTP port: 587 with STARTTLS (the default), 465 with implicit TLS.')
param smtpPort int = 587

@allowed(['StartTls', 'Implicit'])
@description('TLS mode of the SMTP relay.')
param smtpUseTls string = 'StartTls'

@description('SMTP user name (for Azure Communication Services, the SMTP username of its Entra application).')
param smtpUsername string = ''

@secure()
@description('SMTP password. Stored in Key Vault; the app reads it through a Key Vault reference.')
param smtpPassword string = ''

@description('Sender of the account mails, e.g. "CRM <DoNotReply@contoso.com>"; required with smtpHost.')
param mailFrom string = ''

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))

// The Cosmos indexing policies live in their own file so the store code and the infrastructure share them.
var indexing = loadJsonContent('cosmos-indexing.json')

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  params: {
    name: 'id-crm-${token}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  params: {
    logAnalyticsName: 'log-crm-${token}'
    appInsightsName: 'appi-crm-${token}'
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  scope: rg
  params: {
    name: 'stcrm${token}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package'
    blobOwnerPrincipalId: identity.outputs.principalId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  scope: rg
  params: {
    accountName: 'cosmos-crm-${token}'
    location: location
    tags: tags
    databaseName: 'crm'
    indexing: indexing
    dataContributorPrincipalIds: empty(principalId)
      ? [identity.outputs.principalId]
      : [identity.outputs.principalId, principalId]
  }
}

module signalr 'modules/signalr.bicep' = {
  scope: rg
  params: {
    name: 'sigr-crm-${token}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    corsAllowedOrigins: union([web.outputs.uri], corsAllowedOrigins)
  }
}

// Parse LiveQuery in Azure: Web PubSub holds the sockets; its own identity signs its upstream calls, so that the app
// can tell them from any other caller of the tenant.
var liveQueryHub = 'livequery'
var liveQueryUpstreamAudience = 'https://webpubsub.azure.com'

module webPubSubIdentity 'modules/identity.bicep' = {
  scope: rg
  params: {
    name: 'id-wps-crm-${token}'
    location: location
    tags: tags
  }
}

module webPubSub 'modules/webpubsub.bicep' = {
  scope: rg
  params: {
    name: 'wps-crm-${token}'
    location: location
    tags: tags
    serviceIdentityId: webPubSubIdentity.outputs.id
    appPrincipalId: identity.outputs.principalId
  }
}

module vault 'modules/keyvault.bicep' = {
  scope: rg
  params: {
    name: 'kv-crm-${token}'
    location: location
    tags: tags
    masterKeyValue: parseMasterKey
    smtpPasswordValue: smtpPassword
    storeSmtpPassword: !empty(smtpPassword)
    readerPrincipalId: identity.outputs.principalId
  }
}

module functionApp 'modules/function-app.bicep' = {
  scope: rg
  params: {
    name: 'func-crm-${token}'
    planName: 'plan-crm-${token}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    filesAccountUrl: storage.outputs.blobEndpoint
    filesContainerName: storage.outputs.filesContainerName
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.connectionString
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    signalRServiceUri: signalr.outputs.serviceUri
    masterKeySecretUri: vault.outputs.masterKeySecretUri
    smtp: {
      host: smtpHost
      port: smtpPort
      useTls: smtpUseTls
      username: smtpUsername
      secretUri: vault.outputs.smtpSecretUri
      from: mailFrom
    }
    parseAppId: parseAppId
    liveQuery: {
      endpoint: webPubSub.outputs.endpoint
      hub: liveQueryHub
      upstreamAudience: liveQueryUpstreamAudience
      upstreamPrincipalId: webPubSubIdentity.outputs.principalId
    }
    corsAllowedOrigins: union([web.outputs.uri], corsAllowedOrigins)
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

module webPubSubHub 'modules/webpubsub-hub.bicep' = {
  scope: rg
  params: {
    webPubSubName: webPubSub.outputs.name
    hubName: liveQueryHub
    upstreamUrl: '${functionApp.outputs.url}/realtime/webpubsub'
    upstreamAudience: liveQueryUpstreamAudience
  }
}

module web 'modules/staticwebapp.bicep' = {
  scope: rg
  params: {
    name: 'stapp-crm-${token}'
    location: webLocation
    tags: union(tags, { 'azd-service-name': 'web' })
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.url
@description('Base URL the Parse SDKs are configured with (serverURL).')
output PARSE_SERVER_URL string = '${functionApp.outputs.url}/parse'
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output SIGNALR_SERVICE_URI string = signalr.outputs.serviceUri
@description('The web app (Static Web App), built with VITE_API_ROOT = SERVICE_API_URI; its origin is allowed by the API and SignalR.')
output SERVICE_WEB_URI string = web.outputs.uri
output SERVICE_WEB_NAME string = web.outputs.name
@description('The LiveQuery URL the Parse SDKs are configured with (liveQueryServerURL): the Web PubSub hub.')
output liveQueryServerURL string = webPubSubHub.outputs.clientUrl
