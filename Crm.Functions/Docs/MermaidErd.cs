using System.Text;
using Crm.Functions.Core.Schema;
using Crm.Functions.Crm;

namespace Crm.Functions.Docs;

/// <summary>The live schema as a Mermaid <c>erDiagram</c>: every documented class, its fields, and one edge per pointer target.</summary>
internal static class MermaidErd
{
    public static string Build(SchemaService schemas)
    {
        var classes = SchemaDocument.DocumentedClasses(schemas);
        var text = new StringBuilder("erDiagram\n");
        foreach (var schema in classes)
        {
            text.Append("  ").Append(schema.ClassName).Append(" {\n");
            text.Append("    String objectId PK\n    Date createdAt\n    Date updatedAt\n");
            foreach (var (name, field) in schema.Fields)
            {
                text.Append("    ").Append(field.Type).Append(' ').Append(name);
                if (field.Type is FieldType.Pointer or FieldType.Relation) text.Append(" FK");
                var notes = new List<string>();
                if (field.TargetClass is not null) notes.Add(field.TargetClass);
                if (field.Required) notes.Add("required");
                if (field.Description is not null) notes.Add(field.Description);
                if (notes.Count > 0) text.Append(" \"").Append(Comment(string.Join("; ", notes))).Append('"');
                text.Append('\n');
            }
            text.Append("  }\n");
        }
        foreach (var r in SchemaDocument.Relations(classes))
        {
            // Pointer: each target has zero or many of the class (exactly one target when required). Relation: many to many.
            var edge = r.Many ? $"{r.From} }}o--o{{ {r.To}" : $"{r.To} {(r.Required ? "||" : "|o")}--o{{ {r.From}";
            text.Append("  ").Append(edge).Append(" : \"").Append(r.Field).Append("\"\n");
        }
        return text.ToString();
    }

    /// <summary>Mermaid comments are double-quoted and single-line: quotes and line breaks would end them early.</summary>
    private static string Comment(string text)
    {
        var clean = text.Replace('"', '\'').Replace('\r', ' ').Replace('\n', ' ').Replace('#', ' ');
        return clean.Length <= 120 ? clean : clean[..117] + "...";
    }
}
