namespace Crm.Functions.Tests.Deployment;

/// <summary>
/// Parse files in Azure: a private container on the storage account whose shared keys are off, the app's identity
/// with Storage Blob Data Contributor on it and Storage Blob Delegator on the account (user-delegation SAS for
/// signed URLs), and the app settings that point the app at it, by the names the app reads.
/// </summary>
public sealed class FilesInfraTests(BicepBuildFixture build) : IClassFixture<BicepBuildFixture>
{
    private const string DataContributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    private const string Delegator = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a";

    [Fact]
    public void files_live_in_a_private_container_reached_with_the_apps_identity()
    {
        var storage = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "storage.bicep"));
        Assert.Matches(@"allowSharedKeyAccess:\s*false", storage);
        Assert.Matches(@"resource filesContainer '[^']+' = \{\s*parent: blobs\s*name: filesContainerName\s*properties: \{\s*publicAccess: 'None'", storage);
        Assert.Matches(@"scope:\s*filesContainer\s*properties:[\s\S]*?roleDefinitionId:[^\n]*storageBlobDataContributor", storage);
        Assert.Contains($"'{DataContributor}'", storage, StringComparison.Ordinal);
        Assert.Contains($"'{Delegator}'", storage, StringComparison.Ordinal);

        var functionApp = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "function-app.bicep"));
        Assert.Matches(@"Parse__Files__Store:\s*'blob'", functionApp);
        Assert.Matches(@"Parse__Files__Blob__AccountUrl:\s*filesAccountUrl\s", functionApp);
        Assert.Matches(@"Parse__Files__Blob__Container:\s*filesContainerName\s", functionApp);
        // DefaultAzureCredential picks the user-assigned identity the roles were given to.
        Assert.Matches(@"AZURE_CLIENT_ID:\s*identityClientId", functionApp);
        var main = File.ReadAllText(DeploymentFiles.InRepo("infra", "main.bicep"));
        Assert.Matches(@"filesAccountUrl:\s*storage\.outputs\.blobEndpoint", main);

        // The compiled template carries both role assignments.
        Assert.Equal(0, build.ExitCode);
        var template = build.Template!.ToJsonString();
        Assert.Contains(DataContributor, template, StringComparison.Ordinal);
        Assert.Contains(Delegator, template, StringComparison.Ordinal);
    }
}
