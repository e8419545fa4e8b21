// Key Vault (RBAC authorization) holding the Parse master key. The app setting Parse__MasterKey is a
// Key Vault reference resolved by the platform with the app's identity, so the key never appears in
// the site configuration.
param name string
param location string
param tags object
param readerPrincipalId string

@secure()
param masterKeyValue string

@secure()
@description('The SMTP relay password; empty: no secret is made.')
param smtpPasswordValue string = ''

@description('Whether smtpPasswordValue is given (a plain flag: outputs must not depend on the secure value).')
param storeSmtpPassword bool = false

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

resource masterKey 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'parse-master-key'
  properties: {
    value: masterKeyValue
    contentType: 'text/plain'
  }
}

resource smtpSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (storeSmtpPassword) {
  parent: vault
  name: 'smtp-password'
  properties: {
    value: smtpPasswordValue
    contentType: 'text/plain'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, readerPrincipalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

// Versionless, so a rotated secret reaches the app without a redeployment.
output masterKeySecretUri string = masterKey.properties.secretUri
output smtpSecretUri string = storeSmtpPassword ? smtpSecret!.properties.secretUri : ''
