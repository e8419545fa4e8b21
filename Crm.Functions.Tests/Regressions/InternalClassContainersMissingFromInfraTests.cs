using System.Text.RegularExpressions;
using Crm.Functions.Core.Schema;
using Crm.Functions.Tests.Deployment;

namespace Crm.Functions.Tests.Regressions;

/// <summary>
/// Bug: the server's internal classes `_LiveQuery` and `_History` had no container in infra/modules/cosmos.bicep. In Azure
/// the store cannot create containers (managed identity, keys disabled), and start-up saves every internal class's
/// schema, so a deployed server failed to start ("Cosmos container '_History' does not exist"). Every class the server
/// declares itself must be provisioned by the Bicep.
/// </summary>
public sealed partial class InternalClassContainersMissingFromInfraTests
{
    [Fact]
    public void every_internal_class_the_server_declares_has_a_container_in_the_bicep()
    {
        var bicep = File.ReadAllText(DeploymentFiles.InRepo("infra", "modules", "cosmos.bicep"));
        var list = ClassContainers().Match(bicep);
        Assert.True(list.Success, "classContainers not found in cosmos.bicep");
        var containers = Quoted().Matches(list.Groups["items"].Value).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        var declared = SystemSchemas.All().Select(s => s.ClassName).ToList();
        Assert.Contains("_History", declared);
        Assert.All(declared, name => Assert.Contains(name, containers));
    }

    [GeneratedRegex(@"param classContainers array = \[(?<items>[^\]]*)\]")]
    private static partial Regex ClassContainers();

    [GeneratedRegex("'([^']+)'")]
    private static partial Regex Quoted();
}
