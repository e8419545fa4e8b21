// The floor: what this machine's Kestrel answers per second with no work behind the answer. It answers every GET with
// the bytes of one file (bench/run.sh passes a real GET /classes/Deal/:id answer of the seeded server, so the body has
// exactly the size and shape of scenario (a)'s answers), with the same content type, and no middleware at all.
//
//   dotnet Floor.dll --body FILE --urls http://127.0.0.1:PORT

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

var bodyFile = app.Configuration["body"] ?? throw new InvalidOperationException("--body FILE is required");
var body = await File.ReadAllBytesAsync(bodyFile);

app.Run(context =>
{
    context.Response.StatusCode = 200;
    context.Response.ContentType = "application/json; charset=utf-8";
    context.Response.ContentLength = body.Length;
    return context.Response.Body.WriteAsync(body).AsTask();
});
app.Run();
