using System.Collections;
using System.Text.Json.Nodes;
using Crm.Functions.Core;
using GraphQL.Validation;
using GraphQL.Validation.Complexity;
using GraphQL.Validation.Rules.Custom;
using GraphQLParser.AST;

namespace Crm.Functions.GraphQL;

/// <summary>
/// What one GraphQL document may ask for, checked before anything runs: the complexity estimate (with
/// <c>where</c> arguments priced by the work they cause), the number of aliases and selected fields, and
/// introspection (master key only unless <see cref="GraphQLSettings.PublicIntrospection"/>, at most one
/// <c>__schema</c>/<c>__type</c> per document). Refusals are GraphQL validation errors whose
/// <c>extensions.code</c> is the Parse code, as for every other Parse failure.
/// </summary>
internal static class GraphQLLimits
{
    /// <summary>A filtered list field: the filter is evaluated over stored rows, not just the page returned.</summary>
    public const int WhereComplexity = 20;

    /// <summary>
    /// A <c>matchesRegex</c> filter: the costliest thing a query can ask for (regex time is charged per request,
    /// and this keeps a document to a handful of them at the default <see cref="GraphQLSettings.MaxComplexity"/>).
    /// </summary>
    public const int RegexComplexity = 2_000;

    private static readonly Func<FieldImpactContext, FieldComplexityResult> DefaultImpact = new ComplexityOptions().DefaultComplexityImpactDelegate;

    public static IEnumerable<IValidationRule> Rules(GraphQLSettings settings, bool isMaster) =>
    [
        new ComplexityValidationRule(new ComplexityOptions
        {
            MaxDepth = settings.MaxDepth,
            MaxComplexity = settings.MaxComplexity,
            DefaultComplexityImpactDelegate = Impact,
        }),
        new ShapeRule(settings, isMaster),
    ];

    private static FieldComplexityResult Impact(FieldImpactContext field)
    {
        // Introspection reads the in-memory schema only and is bounded by ShapeRule (one __schema/__type per
        // document, aliases and fields capped); counted here, the standard introspection query alone scores millions.
        if (field.FieldDefinition.Name.StartsWith("__", StringComparison.Ordinal) || field.ParentType.Name.StartsWith("__", StringComparison.Ordinal))
            return new FieldComplexityResult(0, 0);
        var result = DefaultImpact(field);
        if (field.Arguments?.TryGetValue("where", out var where) != true || where.Value is null) return result;
        var filterCost = HasRegex(where.Value) ? RegexComplexity : WhereComplexity;
        return new FieldComplexityResult(result.FieldImpact + filterCost, result.ChildImpactMultiplier);
    }

    /// <summary>Whether a where argument (typed input, or raw Parse JSON in a sub-query) holds a regular expression.</summary>
    private static bool HasRegex(object? value) => value switch
    {
        IDictionary<string, object?> map => map.Any(p => p.Key is "matchesRegex" or "$regex" || HasRegex(p.Value)),
        JsonNode json => json.ToJsonString().Contains("\"$regex\"", StringComparison.Ordinal),
        string => false,
        IEnumerable list => list.Cast<object?>().Any(HasRegex),
        _ => false,
    };

    /// <summary>Counts what the document's text selects: aliases, fields, introspection roots.</summary>
    private sealed class ShapeRule(GraphQLSettings settings, bool isMaster) : ValidationRuleBase
    {
        public override ValueTask<INodeVisitor?> GetPreNodeVisitorAsync(ValidationContext context)
        {
            int fields = 0, aliases = 0, introspections = 0;
            var failed = false;
            void Fail(ValidationContext ctx, ASTNode node, int code, string message)
            {
                if (failed) return; // one error is enough, and a huge document must not produce a huge answer
                failed = true;
                ctx.ReportError(new ValidationError(ctx.Document.Source, "PARSE_LIMIT", message, new ParseException(code, message), node));
            }
            return new ValueTask<INodeVisitor?>(new MatchingNodeVisitor<GraphQLField>((field, ctx) =>
            {
                if (++fields > settings.MaxFields)
                    Fail(ctx, field, ParseError.InvalidQuery, $"The document selects more than {settings.MaxFields} fields (GraphQL:MaxFields).");
                if (field.Alias is not null && ++aliases > settings.MaxAliases)
                    Fail(ctx, field, ParseError.InvalidQuery, $"The document uses more than {settings.MaxAliases} aliases (GraphQL:MaxAliases).");
                if (field.Name.Value.Span is "__schema" or "__type")
                {
                    if (!isMaster && !settings.PublicIntrospection)
                        Fail(ctx, field, ParseError.OperationForbidden, "Introspection requires the master key (GraphQL:PublicIntrospection opens it).");
                    else if (++introspections > 1)
                        Fail(ctx, field, ParseError.InvalidQuery, "A document may hold at most one __schema or __type field.");
                }
            }));
        }
    }

    /// <summary>The answer, held until it is known to fit <see cref="GraphQLSettings.MaxResponseBytes"/> (so a refusal is still a clean error).</summary>
    internal sealed class BoundedBuffer(long max) : MemoryStream
    {
        private void Check(int count)
        {
            if (Length + count > max)
                throw new ResponseTooLargeException($"The answer is larger than {max} bytes (GraphQL:MaxResponseBytes); select fewer fields or page through lists.");
        }

        public override void Write(byte[] buffer, int offset, int count) { Check(count); base.Write(buffer, offset, count); }
        public override void Write(ReadOnlySpan<byte> buffer) { Check(buffer.Length); base.Write(buffer); }
        public override void WriteByte(byte value) { Check(1); base.WriteByte(value); }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer, offset, count);
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
    }

    internal sealed class ResponseTooLargeException(string message) : Exception(message);
}
