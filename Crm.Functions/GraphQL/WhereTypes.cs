using GraphQL.Types;

namespace Crm.Functions.GraphQL;

/// <summary>The shared where inputs, one per Parse field type, with Parse's operator names (graphql.md §7).</summary>
internal sealed class WhereTypes
{
    public InputObjectGraphType Id { get; } = new() { Name = "IdWhereInput" };
    public InputObjectGraphType String { get; } = new() { Name = "StringWhereInput" };
    public InputObjectGraphType Number { get; } = new() { Name = "NumberWhereInput" };
    public InputObjectGraphType Boolean { get; } = new() { Name = "BooleanWhereInput" };
    public InputObjectGraphType Array { get; } = new() { Name = "ArrayWhereInput" };
    public InputObjectGraphType Object { get; } = new() { Name = "ObjectWhereInput" };
    public InputObjectGraphType Date { get; } = new() { Name = "DateWhereInput" };
    public InputObjectGraphType Bytes { get; } = new() { Name = "BytesWhereInput" };
    public InputObjectGraphType File { get; } = new() { Name = "FileWhereInput" };
    public InputObjectGraphType GeoPoint { get; } = new() { Name = "GeoPointWhereInput", Description = "Geo queries are not supported by this server; only exists." };
    public InputObjectGraphType Polygon { get; } = new() { Name = "PolygonWhereInput", Description = "Geo queries are not supported by this server; only exists." };
    public InputObjectGraphType KeyValue { get; } = new() { Name = "KeyValueInput" };
    public InputObjectGraphType Select { get; } = new() { Name = "SelectInput" };
    public InputObjectGraphType Subquery { get; } = new() { Name = "SubqueryInput" };

    public IEnumerable<IGraphType> All => [Id, String, Number, Boolean, Array, Object, Date, Bytes, File, GeoPoint, Polygon, KeyValue, Select, Subquery];

    private static readonly string[] Comparisons = ["equalTo", "notEqualTo", "lessThan", "lessThanOrEqualTo", "greaterThan", "greaterThanOrEqualTo"];

    public WhereTypes(DateScalar date, ObjectScalar obj, AnyScalar any, BytesScalar bytes)
    {
        KeyValue.AddField(SchemaFactory.InputField("key", typeof(NonNullGraphType<StringGraphType>)));
        KeyValue.AddField(SchemaFactory.InputField("value", new NonNullGraphType(any)));
        Subquery.AddField(SchemaFactory.InputField("className", typeof(NonNullGraphType<StringGraphType>)));
        Subquery.AddField(SchemaFactory.InputField("where", obj, "Raw Parse where JSON."));
        Select.AddField(SchemaFactory.InputField("key", typeof(NonNullGraphType<StringGraphType>)));
        Select.AddField(SchemaFactory.InputField("query", new NonNullGraphType(Subquery)));

        Fill(Id, typeof(IdGraphType), comparisons: true, inList: true);
        Fill(String, typeof(StringGraphType), comparisons: true, inList: true);
        String.AddField(SchemaFactory.InputField("matchesRegex", typeof(StringGraphType), "A regular expression (Parse's $regex)."));
        String.AddField(SchemaFactory.InputField("options", typeof(StringGraphType), "Regex options: i, m, x, s."));
        Fill(Number, typeof(FloatGraphType), comparisons: true, inList: true);
        Fill(Boolean, typeof(BooleanGraphType), comparisons: false, inList: false);
        Fill(Array, any, comparisons: true, inList: true);
        Array.AddField(SchemaFactory.InputField("contains", new ListGraphType(any), "Every value is in the array ($all)."));
        Array.AddField(SchemaFactory.InputField("containedBy", new ListGraphType(any), "The array holds only these values ($containedBy)."));
        Fill(Object, KeyValue, comparisons: true, inList: true);
        Fill(Date, date, comparisons: true, inList: true);
        Fill(Bytes, bytes, comparisons: true, inList: true);
        File.AddField(SchemaFactory.InputField("equalTo", typeof(StringGraphType), "File name."));
        File.AddField(SchemaFactory.InputField("notEqualTo", typeof(StringGraphType), "File name."));
        File.AddField(SchemaFactory.InputField("in", typeof(ListGraphType<StringGraphType>)));
        File.AddField(SchemaFactory.InputField("notIn", typeof(ListGraphType<StringGraphType>)));
        File.AddField(SchemaFactory.InputField("exists", typeof(BooleanGraphType)));
        GeoPoint.AddField(SchemaFactory.InputField("exists", typeof(BooleanGraphType)));
        Polygon.AddField(SchemaFactory.InputField("exists", typeof(BooleanGraphType)));
    }

    private void Fill(InputObjectGraphType input, object valueType, bool comparisons, bool inList)
    {
        var names = comparisons ? Comparisons : ["equalTo", "notEqualTo"];
        foreach (var name in names) input.AddField(SchemaFactory.InputField(name, valueType));
        if (inList)
        {
            object list = valueType is Type t ? typeof(ListGraphType<>).MakeGenericType(t) : new ListGraphType((IGraphType)valueType);
            input.AddField(SchemaFactory.InputField("in", list));
            object list2 = valueType is Type t2 ? typeof(ListGraphType<>).MakeGenericType(t2) : new ListGraphType((IGraphType)valueType);
            input.AddField(SchemaFactory.InputField("notIn", list2));
        }
        input.AddField(SchemaFactory.InputField("exists", typeof(BooleanGraphType)));
        input.AddField(SchemaFactory.InputField("inQueryKey", Select, "The field's value is the key's value in a subquery's results ($select)."));
        input.AddField(SchemaFactory.InputField("notInQueryKey", Select, "$dontSelect."));
    }
}
