using Crm.Functions.Core;
using Microsoft.AspNetCore.Routing.Template;

namespace Crm.Functions.Http;

/// <summary>
/// The Parse route table. The middleware dispatches requests through it, <c>/batch</c> dispatches its
/// sub-requests through the same table, and the deployment test checks every route against the Azure
/// Functions <c>function.json</c> files — one list, so the three cannot disagree.
/// Routes are matched in registration order: literal routes (<c>/users/me</c>) are added before
/// parameterised ones (<c>/users/{objectId}</c>).
/// </summary>
internal sealed class ParseRouter
{
    private readonly List<(ParseRoute Route, TemplateMatcher Matcher)> _routes = [];

    public IReadOnlyList<ParseRoute> Routes => _routes.Select(r => r.Route).ToList();

    public void Add(string function, string methods, string template, ParseHandler handler, bool masterOnly = false)
    {
        var route = new ParseRoute(function, methods.Split(','), template, handler, masterOnly);
        _routes.Add((route, new TemplateMatcher(TemplateParser.Parse(template.TrimStart('/')), new RouteValueDictionary())));
    }

    /// <summary>
    /// A route that streams its request and answer itself (<see cref="RawHandler"/>); inside a <c>/batch</c>, whose
    /// sub-requests carry JSON only, it answers a 107.
    /// </summary>
    public void AddRaw(string function, string methods, string template, RawHandler raw)
    {
        var route = new ParseRoute(function, methods.Split(','), template,
            (_, _) => throw new ParseException(ParseError.InvalidJson, $"{template} cannot be called inside a batch."), Raw: raw);
        _routes.Add((route, new TemplateMatcher(TemplateParser.Parse(template.TrimStart('/')), new RouteValueDictionary())));
    }

    /// <summary>The route for a method and a path relative to the mount path; null when none matches.</summary>
    public (ParseRoute Route, Dictionary<string, string> Values)? Match(string method, string path)
    {
        // The route matcher throws on NUL characters, which it also decodes from a remaining %00 (a request for
        // %2500); no route has one.
        if (path.Contains('\0', StringComparison.Ordinal) || path.Contains("%00", StringComparison.Ordinal)) return null;
        var values = new RouteValueDictionary();
        foreach (var (route, matcher) in _routes)
        {
            if (!route.Methods.Contains(method, StringComparer.OrdinalIgnoreCase)) continue;
            values.Clear();
            if (!matcher.TryMatch(path, values)) continue;
            return (route, values.ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "", StringComparer.Ordinal));
        }
        return null;
    }
}
