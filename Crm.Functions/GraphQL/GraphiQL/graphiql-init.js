// Starts GraphiQL against this server's GraphQL endpoint; the application id header is pre-filled
// (add X-Parse-Session-Token or X-Parse-Master-Key in the Headers tab). ?query=… opens a query.
// The documentation pane needs introspection: the master key's, unless GraphQL:PublicIntrospection is set.
(function () {
  var body = document.body;
  var params = new URLSearchParams(window.location.search);
  var headers = { 'X-Parse-Application-Id': body.dataset.appId };
  var props = {
    fetcher: GraphiQL.createFetcher({ url: body.dataset.endpoint }),
    defaultHeaders: JSON.stringify(headers, null, 2),
    shouldPersistHeaders: false,
    defaultQuery: '# Parse GraphQL API of this CRM.\n# Schema docs: add X-Parse-Master-Key in Headers (or set GraphQL:PublicIntrospection).\n{\n  health\n}\n',
  };
  if (params.get('query')) props.query = params.get('query');
  ReactDOM.createRoot(document.getElementById('graphiql')).render(React.createElement(GraphiQL, props));
})();
