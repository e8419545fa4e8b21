// The CRM web app (web/dist) as an Azure Static Web App. The app is built with VITE_API_ROOT set to the
// Function App's URL (see web/README.md), so it calls /parse and /negotiate there; the Function App's
// CORS (corsAllowedOrigins) must admit this site's origin. Client-side routes (/pipeline, /deals/…) are
// answered with index.html by the navigation fallback in web/public/staticwebapp.config.json, which the
// build copies into dist/ and the Static Web App reads at deployment.
param name string

@description('Static Web Apps run in a few regions only.')
@allowed(['centralus', 'eastus2', 'westus2', 'westeurope', 'eastasia'])
param location string

param tags object

@allowed(['Free', 'Standard'])
param sku string = 'Free'

resource site 'Microsoft.Web/staticSites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
    tier: sku
  }
  properties: {
    allowConfigFileUpdates: true
    stagingEnvironmentPolicy: 'Enabled'
    enterpriseGradeCdnStatus: 'Disabled'
  }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostname}'
