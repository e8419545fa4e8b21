// The LiveQuery hub of the Web PubSub service: anonymous connect (a Parse SDK is a plain WebSocket client given only
// a URL; who it is comes from its LiveQuery connect frame, decided by the app), and one event handler that sends the
// connect and disconnected system events and every client frame to the app's upstream function, with a token of the
// service's managed identity for `upstreamAudience` (the app checks issuer, audience, signature and the identity).
param webPubSubName string
param hubName string
@description('The app\'s upstream endpoint, https://<function app host>/realtime/webpubsub.')
param upstreamUrl string
@description('The audience the service asks its managed-identity token for (the app\'s Parse:LiveQuery:WebPubSub:UpstreamAudience).')
param upstreamAudience string

resource webPubSub 'Microsoft.SignalRService/webPubSub@2024-03-01' existing = {
  name: webPubSubName
}

resource hub 'Microsoft.SignalRService/webPubSub/hubs@2024-03-01' = {
  parent: webPubSub
  name: hubName
  properties: {
    anonymousConnectPolicy: 'allow'
    eventHandlers: [
      {
        urlTemplate: upstreamUrl
        userEventPattern: '*'
        systemEvents: ['connect', 'disconnected']
        auth: {
          type: 'ManagedIdentity'
          managedIdentity: { resource: upstreamAudience }
        }
      }
    ]
  }
}

output clientUrl string = 'wss://${webPubSub.properties.hostName}/client/hubs/${hub.name}'
