using Crm.Functions.Core.Schema;
using GraphQL.Types;

namespace Crm.Functions.GraphQL;

/// <summary>The generated GraphQL types of one Parse class (created empty first, filled once every class exists, so they can refer to each other).</summary>
internal sealed class ClassTypes(ClassSchema schema)
{
    public ClassSchema Schema { get; } = schema;
    public string ClassName => Schema.ClassName;
    public string TypeName { get; } = Naming.TypeName(schema.ClassName);
    public string GetName => Naming.LowerFirst(TypeName);
    public string FindName => Naming.Plural(GetName) is var p && p != GetName ? p : GetName + "Collection";

    /// <summary>Fields exposed over GraphQL: every schema field except write-only or internal ones.</summary>
    public IReadOnlyList<KeyValuePair<string, FieldDefinition>> Fields { get; set; } = [];

    public ObjectGraphType Object { get; } = new() { Name = Naming.TypeName(schema.ClassName) };
    public ObjectGraphType Connection { get; } = new() { Name = Naming.TypeName(schema.ClassName) + "Connection" };
    public ObjectGraphType Edge { get; } = new() { Name = Naming.TypeName(schema.ClassName) + "Edge" };
    public InputObjectGraphType Where { get; } = new() { Name = Naming.TypeName(schema.ClassName) + "WhereInput" };
    public InputObjectGraphType RelationWhere { get; } = new() { Name = Naming.TypeName(schema.ClassName) + "RelationWhereInput" };
    public EnumerationGraphType Order { get; } = new() { Name = Naming.TypeName(schema.ClassName) + "Order" };
    public InputObjectGraphType CreateFields { get; } = new() { Name = "Create" + Naming.TypeName(schema.ClassName) + "FieldsInput" };
    public InputObjectGraphType UpdateFields { get; } = new() { Name = "Update" + Naming.TypeName(schema.ClassName) + "FieldsInput" };
    public InputObjectGraphType PointerInput { get; } = new() { Name = Naming.TypeName(schema.ClassName) + "PointerInput" };
    public InputObjectGraphType RelationInput { get; } = new() { Name = Naming.TypeName(schema.ClassName) + "RelationInput" };

    public IEnumerable<string> GeneratedNames
    {
        get
        {
            yield return TypeName;
            foreach (var t in new IGraphType[] { Connection, Edge, Where, RelationWhere, Order, CreateFields, UpdateFields, PointerInput, RelationInput })
                yield return t.Name;
            foreach (var verb in new[] { "Create", "Update", "Delete" })
            {
                yield return verb + TypeName + "Input";
                yield return verb + TypeName + "Payload";
            }
        }
    }

    public FieldDefinition? Field(string name) => Fields.FirstOrDefault(f => f.Key == name).Value;
}
