using System.Net;
using System.Text;
using Crm.Functions.Core.Schema;
using Crm.Functions.Crm;

namespace Crm.Functions.Docs;

/// <summary>
/// Per class: field, type, required, description, from the live schema. Descriptions start as the
/// template's and are edited with <c>PUT /parse/schemas/{class}</c> (a field's "description") or <c>schema import</c>.
/// </summary>
internal static class DataDictionary
{
    public sealed record Row(string Field, string Type, bool Required, string Description);

    public static IEnumerable<(ClassSchema Schema, List<Row> Rows)> Tables(SchemaService schemas)
    {
        foreach (var schema in SchemaDocument.DocumentedClasses(schemas))
        {
            var rows = CrmTemplate.SystemFields.Select(f => new Row(f.Name, f.Type, f.Name != "ACL", f.Description + " (system)")).ToList();
            foreach (var (name, field) in schema.Fields)
            {
                var type = field.TargetClass is null ? field.Type : $"{field.Type} → {field.TargetClass.Replace("|", " or ", StringComparison.Ordinal)}";
                if (CrmTemplate.EnumOf(schema.ClassName, name) is { } values) type += $" (one of: {string.Join(", ", values)})";
                rows.Add(new Row(name, type, field.Required, field.Description ?? ""));
            }
            yield return (schema, rows);
        }
    }

    public static string Markdown(SchemaService schemas)
    {
        var md = new StringBuilder("# Data dictionary\n\nGenerated from the live schema.\n");
        foreach (var (schema, rows) in Tables(schemas))
        {
            md.Append("\n## ").Append(schema.ClassName).Append("\n\n");
            if (schema.Description is not null) md.Append(Cell(schema.Description)).Append("\n\n");
            md.Append("| Field | Type | Required | Description |\n| --- | --- | --- | --- |\n");
            foreach (var row in rows)
                md.Append("| ").Append(Cell(row.Field)).Append(" | ").Append(Cell(row.Type)).Append(" | ")
                  .Append(row.Required ? "yes" : "no").Append(" | ").Append(Cell(row.Description)).Append(" |\n");
        }
        return md.ToString();
    }

    /// <summary>Descriptions are user-edited: a pipe or line break must not break the table.</summary>
    private static string Cell(string text) =>
        text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    public static string Html(SchemaService schemas)
    {
        var html = new StringBuilder("<h1>Data dictionary</h1><p>Generated from the live schema. Also as <a href=\"dictionary.md\">Markdown</a>.</p>");
        foreach (var (schema, rows) in Tables(schemas))
        {
            var id = WebUtility.HtmlEncode(schema.ClassName);
            html.Append("<h2 id=\"").Append(id).Append("\">").Append(id).Append("</h2>");
            if (schema.Description is not null) html.Append("<p>").Append(WebUtility.HtmlEncode(schema.Description)).Append("</p>");
            html.Append("<table><thead><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>");
            foreach (var row in rows)
                html.Append("<tr><td><code>").Append(WebUtility.HtmlEncode(row.Field)).Append("</code></td><td>")
                    .Append(WebUtility.HtmlEncode(row.Type)).Append("</td><td>").Append(row.Required ? "yes" : "no").Append("</td><td>")
                    .Append(WebUtility.HtmlEncode(row.Description)).Append("</td></tr>");
            html.Append("</tbody></table>");
        }
        return html.ToString();
    }
}
