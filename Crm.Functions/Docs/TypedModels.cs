using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Crm.Functions.Core.Schema;
using Crm.Functions.Crm;

namespace Crm.Functions.Docs;

/// <summary>
/// Typed models of the documented classes, generated from the live schema for the clients the guides name:
/// TypeScript over the Parse JS SDK, C# over REST (System.Text.Json), Dart over the Flutter SDK, Swift over
/// ParseSwift and Kotlin over the Android SDK. Served at <c>GET /docs/models/{language}</c> and written by
/// <c>schema export --format {language}</c>; both render on each call, so a field added through /schemas appears at once.
/// </summary>
/// <remarks>
/// "Required" in the schema means "required on create". A reader may still get an object without a required field:
/// class-level <c>protectedFields</c> hide fields from some readers, the server never returns a password, and
/// <c>keys</c> selects fields. So the models mark required fields where the language has a marker that does not fail
/// a read (TypeScript non-optional attributes only for fields nobody's read can lose; C# <c>[Required]</c>, a
/// validation attribute; a doc comment elsewhere) and keep every property nullable where reads deserialize.
/// </remarks>
internal static partial class TypedModels
{
    public static readonly string[] Languages = ["typescript", "csharp", "dart", "swift", "kotlin"];

    /// <summary>The JS SDK entry points a TypeScript model module may import (browser/bundlers, Node.js, React Native).</summary>
    public static readonly string[] TypeScriptImports = ["parse", "parse/node", "parse/react-native"];

    public static string FileName(string language) => language switch
    {
        "typescript" => "models.ts",
        "csharp" => "Models.cs",
        "dart" => "models.dart",
        "swift" => "Models.swift",
        "kotlin" => "Models.kt",
        _ => throw new ArgumentOutOfRangeException(nameof(language)),
    };

    public static string Build(SchemaService schemas, string language, string typeScriptImport = "parse")
    {
        var model = Describe(schemas);
        return language switch
        {
            "typescript" => TypeScript(model, typeScriptImport),
            "csharp" => CSharp(model),
            "dart" => Dart(model),
            "swift" => Swift(model),
            "kotlin" => Kotlin(model),
            _ => throw new ArgumentOutOfRangeException(nameof(language), language, "unknown model language"),
        };
    }

    // ---- the language-neutral description --------------------------------------------------------------------

    private sealed record Model(IReadOnlyList<ClassModel> Classes, IReadOnlyList<EnumModel> Enums);

    private sealed record ClassModel(string ClassName, string TypeName, string? Description, IReadOnlyList<Member> Members)
    {
        public bool IsUser => ClassName == "_User";

        /// <summary>The members a generated class declares: the SDKs' user classes already carry the user's own fields.</summary>
        public IEnumerable<Member> OwnMembers => IsUser
            ? Members.Where(m => m.Name is not ("username" or "email" or "password" or "emailVerified" or "authData"))
            : Members;
    }

    /// <param name="AlwaysPresent">required, and no reader can lose it (not protected, not write-only)</param>
    private sealed record Member(string Name, FieldDefinition Field, EnumModel? Enum, bool Required, bool AlwaysPresent,
        IReadOnlyList<string> Targets);

    private sealed record EnumModel(string TypeName, IReadOnlyList<string> Values);

    /// <summary>Fields the server never returns, or returns to the user alone; they cannot be relied on in a read.</summary>
    private static bool HiddenFromSomeReaders(ClassSchema schema, string field) =>
        (schema.ClassName, field) is ("_User", "password") or ("_User", "email") or ("_User", "authData")
        || schema.ClassLevelPermissions["protectedFields"] is JsonObject scopes
           && scopes.Any(scope => scope.Value is JsonArray fields && fields.Any(f => f?.GetValue<string>() == field));

    private static Model Describe(SchemaService schemas)
    {
        var classes = SchemaDocument.DocumentedClasses(schemas);
        var typeNames = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var schema in classes)
        {
            var name = TypeName(schema.ClassName);
            // "_User" becomes "User"; an application class of that name keeps it, the user type moves aside.
            while (typeNames.ContainsValue(name) || classes.Any(c => c.ClassName != schema.ClassName && c.ClassName == name && schema.ClassName.StartsWith('_')))
                name += "Object";
            typeNames[schema.ClassName] = name;
        }
        var enums = new List<EnumModel>();
        var result = new List<ClassModel>();
        foreach (var schema in classes)
        {
            var members = new List<Member>();
            foreach (var (name, field) in schema.Fields)
            {
                EnumModel? values = null;
                if (field.Type == FieldType.String && CrmTemplate.EnumOf(schema.ClassName, name) is { Count: > 0 } list)
                {
                    values = new EnumModel(typeNames[schema.ClassName] + Pascal(name), list);
                    enums.Add(values);
                }
                var targets = field.TargetClasses.Select(t => typeNames.GetValueOrDefault(t) ?? t).ToList();
                members.Add(new Member(name, field, values, field.Required, field.Required && !HiddenFromSomeReaders(schema, name), targets));
            }
            result.Add(new ClassModel(schema.ClassName, typeNames[schema.ClassName], schema.Description, members));
        }
        return new Model(result, enums);
    }

    private static string FirstTarget(Member m) => m.Targets is [var first, ..] ? first : "";

    private static string TypeName(string className) => Pascal(className.TrimStart('_'));

    /// <summary>"expectedCloseDate" → "ExpectedCloseDate", "closed-won" → "ClosedWon", "2fa" → "_2fa".</summary>
    private static string Pascal(string text)
    {
        var words = NonWord().Split(text).Where(w => w.Length > 0).ToList();
        var name = string.Concat(words.Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
        if (name.Length == 0) name = "Value";
        return char.IsDigit(name[0]) ? "_" + name : name;
    }

    private static string Camel(string text)
    {
        var pascal = Pascal(text);
        return pascal[0] == '_' ? pascal : char.ToLowerInvariant(pascal[0]) + pascal[1..];
    }

    [GeneratedRegex("[^A-Za-z0-9]+")]
    private static partial Regex NonWord();

    private static string Header(string comment, string language) =>
        $"{comment} Typed models of this CRM's classes, generated from the live schema.\n"
        + $"{comment} Regenerate after a schema change: GET /docs/models/{language}, or\n"
        + $"{comment}   dotnet run --project Crm.Functions -- schema export --format {language}\n"
        + $"{comment} Fields marked required must be set on create; reads may still lack a field that class-level\n"
        + $"{comment} protectedFields hide from the reader, or that a query's `keys` left out.\n";

    private static string OneLine(string? text) => (text ?? "").Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("*/", "* /", StringComparison.Ordinal);

    private static string Quote(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    private static string Doc(Member member) =>
        OneLine(member.Field.Description) + (member.Required ? (member.Field.Description is null ? "" : " ") + "(required)" : "");

    // ---- TypeScript: Parse.Object subclasses with typed attributes ---------------------------------------------

    private static string TypeScript(Model model, string import)
    {
        if (!TypeScriptImports.Contains(import)) throw new ArgumentOutOfRangeException(nameof(import), import, "unknown SDK entry point");
        var ts = new StringBuilder(Header("//", "typescript"));
        ts.Append($"// For Node.js import from 'parse/node' (GET /docs/models/typescript?import=parse/node), for React Native\n");
        ts.Append("// from 'parse/react-native'. Call registerModels() once, so queries and pointers return these classes.\n");
        ts.Append($"import Parse from '{import}';\n");
        foreach (var e in model.Enums)
        {
            ts.Append($"\nexport const {e.TypeName}Values = [{string.Join(", ", e.Values.Select(v => $"'{TsString(v)}'"))}] as const;\n");
            ts.Append($"export type {e.TypeName} = (typeof {e.TypeName}Values)[number];\n");
        }
        foreach (var c in model.Classes)
        {
            ts.Append('\n');
            if (c.Description is not null) ts.Append($"/** {OneLine(c.Description)} */\n");
            ts.Append($"export interface {c.TypeName}Attributes {{\n");
            foreach (var m in c.Members)
            {
                if (m.Field.Description is not null || m.Required) ts.Append($"  /** {Doc(m)} */\n");
                ts.Append($"  {m.Name}{(m.AlwaysPresent ? "" : "?")}: {TsType(c, m)};\n");
            }
            ts.Append("}\n\n");
            if (c.IsUser)
                ts.Append($"export class {c.TypeName} extends Parse.User<{c.TypeName}Attributes> {{\n")
                  .Append($"  constructor(attributes?: {c.TypeName}Attributes) {{\n    super(attributes);\n  }}\n}}\n");
            else
                ts.Append($"export class {c.TypeName} extends Parse.Object<{c.TypeName}Attributes> {{\n")
                  .Append($"  constructor(attributes?: {c.TypeName}Attributes) {{\n    super('{TsString(c.ClassName)}', attributes);\n  }}\n}}\n");
        }
        ts.Append("\n/** Registers the classes with the SDK: fetched objects and pointers become instances of these classes. */\n");
        ts.Append("export function registerModels(): void {\n");
        foreach (var c in model.Classes) ts.Append($"  Parse.Object.registerSubclass('{TsString(c.ClassName)}', {c.TypeName});\n");
        ts.Append("}\n");
        return ts.ToString();
    }

    private static string TsString(string text) => text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);

    private static string TsType(ClassModel owner, Member m) => m.Field.Type switch
    {
        FieldType.String => m.Enum?.TypeName ?? "string",
        FieldType.Number => "number",
        FieldType.Boolean => "boolean",
        FieldType.Date => "Date",
        FieldType.Object => "Record<string, unknown>",
        FieldType.Array => "unknown[]",
        FieldType.GeoPoint => "Parse.GeoPoint",
        FieldType.File => "Parse.File",
        FieldType.Polygon => "Parse.Polygon",
        FieldType.Bytes => "{ __type: 'Bytes'; base64: string }",
        FieldType.Pointer => string.Join(" | ", m.Targets.Select(TsObjectType).Distinct()),
        FieldType.Relation => $"Parse.Relation<{owner.TypeName}, {TsObjectType(FirstTarget(m))}>",
        _ => "unknown",
    };

    /// <summary>A target outside the documented classes (roles, sessions, a class not yet created) is an SDK type.</summary>
    private static string TsObjectType(string target) => target switch
    {
        "_Role" => "Parse.Role",
        "_Session" => "Parse.Session",
        "_Installation" => "Parse.Installation",
        _ when target.Length > 0 && !target.StartsWith('_') && char.IsUpper(target[0]) => target,
        _ => "Parse.Object",
    };

    // ---- C#: classes for the REST API with System.Text.Json ----------------------------------------------------

    private static string CSharp(Model model)
    {
        var cs = new StringBuilder("// <auto-generated/>\n").Append(Header("//", "csharp"));
        cs.Append("""
            // For REST with HttpClient and System.Text.Json; [Required] marks what a create must set (DataAnnotations,
            // so Blazor forms validate it).
            #nullable enable
            using System.ComponentModel.DataAnnotations;
            using System.Text.Json.Nodes;
            using System.Text.Json.Serialization;

            namespace Crm.Models;

            /// <summary>A class of this server's schema: its Parse class name and the system fields every object has.</summary>
            public interface IParseObject
            {
                static abstract string ParseClassName { get; }
                string? ObjectId { get; set; }
                DateTimeOffset? CreatedAt { get; set; }
                DateTimeOffset? UpdatedAt { get; set; }
                JsonObject? ACL { get; set; }
            }

            /// <summary>A pointer to an object of <typeparamref name="T"/>, as the REST API writes it.</summary>
            public sealed record ParsePointer<T>([property: JsonPropertyName("objectId")] string ObjectId) where T : IParseObject
            {
                [JsonPropertyName("__type")] public string Type => "Pointer";
                [JsonPropertyName("className")] public string ClassName => T.ParseClassName;
            }

            /// <summary>A pointer whose field admits several classes (e.g. a Contact or a Deal): the class travels with it.</summary>
            public sealed record ParsePointer(
                [property: JsonPropertyName("className")] string ClassName,
                [property: JsonPropertyName("objectId")] string ObjectId)
            {
                [JsonPropertyName("__type")] public string Type => "Pointer";
            }

            /// <summary>A date field's value ({"__type": "Date", "iso": …}); createdAt and updatedAt are plain strings.</summary>
            public sealed record ParseDate([property: JsonPropertyName("iso")] DateTimeOffset Iso)
            {
                [JsonPropertyName("__type")] public string Type => "Date";
                public static implicit operator ParseDate(DateTimeOffset value) => new(value);
            }

            public sealed record ParseFile([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("url")] string? Url = null)
            {
                [JsonPropertyName("__type")] public string Type => "File";
            }

            public sealed record ParseGeoPoint([property: JsonPropertyName("latitude")] double Latitude, [property: JsonPropertyName("longitude")] double Longitude)
            {
                [JsonPropertyName("__type")] public string Type => "GeoPoint";
            }

            public sealed record ParsePolygon([property: JsonPropertyName("coordinates")] double[][] Coordinates)
            {
                [JsonPropertyName("__type")] public string Type => "Polygon";
            }

            public sealed record ParseBytes([property: JsonPropertyName("base64")] string Base64)
            {
                [JsonPropertyName("__type")] public string Type => "Bytes";
            }

            /// <summary>A relation field as reads return it; its members are queried with $relatedTo.</summary>
            public sealed record ParseRelation([property: JsonPropertyName("className")] string ClassName)
            {
                [JsonPropertyName("__type")] public string Type => "Relation";
            }

            /// <summary>A query's answer: GET /classes/{className} returns {"results": […], "count"?: n}.</summary>
            public sealed record ParseResults<T>([property: JsonPropertyName("results")] IReadOnlyList<T> Results, [property: JsonPropertyName("count")] long? Count = null);

            """);
        foreach (var e in model.Enums)
        {
            cs.Append($"\n[JsonConverter(typeof(JsonStringEnumConverter<{e.TypeName}>))]\npublic enum {e.TypeName}\n{{\n");
            foreach (var v in e.Values) cs.Append($"    [JsonStringEnumMemberName(\"{Quote(v)}\")] {CsIdentifier(Pascal(v))},\n");
            cs.Append("}\n");
        }
        foreach (var c in model.Classes)
        {
            cs.Append('\n');
            if (c.Description is not null) cs.Append($"/// <summary>{Xml(c.Description)}</summary>\n");
            cs.Append($"public sealed class {c.TypeName} : IParseObject\n{{\n");
            cs.Append($"    public static string ParseClassName => \"{Quote(c.ClassName)}\";\n\n");
            cs.Append("    [JsonPropertyName(\"objectId\")] public string? ObjectId { get; set; }\n");
            cs.Append("    [JsonPropertyName(\"createdAt\")] public DateTimeOffset? CreatedAt { get; set; }\n");
            cs.Append("    [JsonPropertyName(\"updatedAt\")] public DateTimeOffset? UpdatedAt { get; set; }\n");
            cs.Append("    [JsonPropertyName(\"ACL\")] public JsonObject? ACL { get; set; }\n");
            var used = new HashSet<string>(StringComparer.Ordinal) { c.TypeName, "ObjectId", "CreatedAt", "UpdatedAt", "ACL", "ParseClassName" };
            foreach (var m in c.Members)
            {
                var property = Pascal(m.Name);
                while (!used.Add(property)) property += "Field";
                if (m.Field.Description is not null) cs.Append($"\n    /// <summary>{Xml(m.Field.Description)}</summary>\n");
                else cs.Append('\n');
                cs.Append("    ");
                if (m.Required) cs.Append("[Required] ");
                cs.Append($"[JsonPropertyName(\"{Quote(m.Name)}\")] public {CsType(m)}? {CsIdentifier(property)} {{ get; set; }}\n");
            }
            cs.Append("}\n");
        }
        return cs.ToString();
    }

    private static string CsType(Member m) => m.Field.Type switch
    {
        FieldType.String => m.Enum?.TypeName ?? "string",
        FieldType.Number => "double",
        FieldType.Boolean => "bool",
        FieldType.Date => "ParseDate",
        FieldType.Object => "JsonObject",
        FieldType.Array => "JsonArray",
        FieldType.GeoPoint => "ParseGeoPoint",
        FieldType.File => "ParseFile",
        FieldType.Polygon => "ParsePolygon",
        FieldType.Bytes => "ParseBytes",
        FieldType.Relation => "ParseRelation",
        // One documented target: typed. Several, or a class outside the documented ones: the class travels in the value.
        FieldType.Pointer when m.Targets is [var only] && IsGeneratedType(only) => $"ParsePointer<{only}>",
        FieldType.Pointer => "ParsePointer",
        _ => "JsonNode",
    };

    private static bool IsGeneratedType(string target) => target.Length > 0 && !target.StartsWith('_') && char.IsUpper(target[0]);

    private static string Xml(string text) => System.Security.SecurityElement.Escape(OneLine(text));

    private static readonly HashSet<string> CSharpKeywords = new(StringComparer.Ordinal)
    {
        "Equals", "GetHashCode", "GetType", "ToString", "MemberwiseClone", "Finalize",
    };

    /// <summary>PascalCase names never hit a C# keyword; they may hit object's members, which would hide them.</summary>
    private static string CsIdentifier(string name) => CSharpKeywords.Contains(name) ? name + "Value" : name;

    // ---- Dart: ParseObject subclasses for the Flutter SDK (parse_server_sdk_flutter) --------------------------

    private static string Dart(Model model)
    {
        var dart = new StringBuilder(Header("//", "dart"));
        dart.Append("// Register with Parse().initialize(…, registeredSubClassMap: crmSubClassMap, parseUserConstructor: crmUserConstructor).\n");
        dart.Append("import 'package:parse_server_sdk_flutter/parse_server_sdk_flutter.dart';\n");
        foreach (var e in model.Enums)
        {
            dart.Append($"\nenum {e.TypeName} {{\n");
            dart.Append(string.Join(",\n", e.Values.Select(v => $"  {DartIdentifier(Camel(v))}('{TsString(v)}')"))).Append(";\n\n");
            dart.Append($"  const {e.TypeName}(this.value);\n  final String value;\n\n");
            dart.Append($"  static {e.TypeName}? fromValue(String? value) {{\n    for (final item in values) {{\n      if (item.value == value) return item;\n    }}\n    return null;\n  }}\n}}\n");
        }
        foreach (var c in model.Classes)
        {
            dart.Append('\n');
            if (c.Description is not null) dart.Append($"/// {OneLine(c.Description)}\n");
            if (c.IsUser)
            {
                dart.Append($"class {c.TypeName} extends ParseUser implements ParseCloneable {{\n");
                dart.Append($"  {c.TypeName}(String? username, String? password, String? emailAddress, {{String? sessionToken, bool? debug, ParseClient? client}})\n");
                dart.Append("      : super(username, password, emailAddress, sessionToken: sessionToken, debug: debug, client: client);\n");
                dart.Append($"  {c.TypeName}.clone() : this(null, null, null);\n\n");
            }
            else
            {
                dart.Append($"class {c.TypeName} extends ParseObject implements ParseCloneable {{\n");
                dart.Append($"  {c.TypeName}() : super(keyClassName);\n  {c.TypeName}.clone() : this();\n\n");
                dart.Append($"  static const String keyClassName = '{TsString(c.ClassName)}';\n\n");
            }
            dart.Append($"  @override\n  {c.TypeName} clone(Map<String, dynamic> map) => {c.TypeName}.clone()..fromJson(map);\n");
            foreach (var m in c.OwnMembers)
            {
                var name = DartIdentifier(Camel(m.Name));
                var key = "key" + Pascal(m.Name);
                dart.Append($"\n  static const String {key} = '{TsString(m.Name)}';\n");
                if (m.Field.Description is not null || m.Required) dart.Append($"  /// {Doc(m)}\n");
                if (m.Enum is { } e)
                {
                    dart.Append($"  {e.TypeName}? get {name} => {e.TypeName}.fromValue(get<String>({key}));\n");
                    dart.Append($"  set {name}({e.TypeName}? value) => set<String?>({key}, value?.value);\n");
                }
                else if (m.Field.Type == FieldType.Relation)
                {
                    var target = DartObjectType(FirstTarget(m));
                    dart.Append($"  ParseRelation<{target}> get {name} => getRelation<{target}>({key});\n");
                }
                else
                {
                    var type = DartType(m);
                    dart.Append($"  {type}? get {name} => get<{type}>({key});\n");
                    dart.Append($"  set {name}({type}? value) => set<{type}?>({key}, value);\n");
                }
            }
            dart.Append("}\n");
        }
        dart.Append("\n/// The SDK builds these classes for fetched objects and pointers.\nfinal Map<String, ParseObjectConstructor> crmSubClassMap = <String, ParseObjectConstructor>{\n");
        foreach (var c in model.Classes.Where(c => !c.IsUser)) dart.Append($"  {c.TypeName}.keyClassName: () => {c.TypeName}(),\n");
        dart.Append("};\n");
        if (model.Classes.FirstOrDefault(c => c.IsUser) is { } user)
            dart.Append($"\n{user.TypeName} crmUserConstructor(String? username, String? password, String? emailAddress, {{String? sessionToken, bool? debug, ParseClient? client}}) =>\n")
                .Append($"    {user.TypeName}(username, password, emailAddress, sessionToken: sessionToken, debug: debug, client: client);\n");
        return dart.ToString();
    }

    private static string DartType(Member m) => m.Field.Type switch
    {
        FieldType.String => "String",
        FieldType.Number => "num",
        FieldType.Boolean => "bool",
        FieldType.Date => "DateTime",
        FieldType.Object => "Map<String, dynamic>",
        FieldType.Array => "List<dynamic>",
        FieldType.GeoPoint => "ParseGeoPoint",
        FieldType.File => "ParseFileBase",
        FieldType.Polygon or FieldType.Bytes => "Map<String, dynamic>",
        FieldType.Pointer when m.Targets is [var only] => DartObjectType(only),
        FieldType.Pointer => "ParseObject",
        _ => "dynamic",
    };

    private static string DartObjectType(string target) => IsGeneratedType(target) ? target : target == "_Session" ? "ParseSession" : "ParseObject";

    private static readonly HashSet<string> DartReserved = new(StringComparer.Ordinal)
    {
        "abstract", "as", "assert", "async", "await", "break", "case", "catch", "class", "const", "continue", "covariant", "default",
        "deferred", "do", "dynamic", "else", "enum", "export", "extends", "extension", "external", "factory", "false", "final",
        "finally", "for", "get", "if", "implements", "import", "in", "interface", "is", "late", "library", "mixin", "new", "null",
        "on", "operator", "part", "required", "rethrow", "return", "set", "static", "super", "switch", "sync", "this", "throw",
        "true", "try", "typedef", "var", "void", "while", "with", "yield",
        // ParseObject's own members, which a getter of the same name would override
        "objectId", "createdAt", "updatedAt", "className", "get", "set", "save", "delete", "fetch", "pin", "unpin", "values", "index",
    };

    private static string DartIdentifier(string name) => DartReserved.Contains(name) ? name + "Value" : name;

    // ---- Swift: ParseObject structs for ParseSwift ------------------------------------------------------------

    private static string Swift(Model model)
    {
        var swift = new StringBuilder(Header("//", "swift"));
        swift.Append("// For ParseSwift; every property is optional, as ParseSwift requires for partial updates.\n");
        swift.Append("import Foundation\nimport ParseSwift\n\n");
        swift.Append("""
            /// A pointer whose field admits several classes (e.g. a Contact or a Deal): the class travels with it.
            struct AnyParsePointer: Codable, Hashable {
                var type = "Pointer"
                var className: String
                var objectId: String

                enum CodingKeys: String, CodingKey {
                    case type = "__type", className, objectId
                }
            }

            """);
        foreach (var e in model.Enums)
        {
            swift.Append($"\nenum {e.TypeName}: String, Codable, CaseIterable {{\n");
            foreach (var v in e.Values) swift.Append($"    case {SwiftIdentifier(Camel(v))} = \"{Quote(v)}\"\n");
            swift.Append("}\n");
        }
        foreach (var c in model.Classes)
        {
            swift.Append('\n');
            if (c.Description is not null) swift.Append($"/// {OneLine(c.Description)}\n");
            swift.Append($"struct {c.TypeName}: {(c.IsUser ? "ParseUser" : "ParseObject")} {{\n");
            swift.Append("    var originalData: Data?\n    var objectId: String?\n    var createdAt: Date?\n    var updatedAt: Date?\n    var ACL: ParseACL?\n");
            if (c.IsUser) swift.Append("    var username: String?\n    var email: String?\n    var emailVerified: Bool?\n    var password: String?\n    var authData: [String: [String: String]?]?\n");
            foreach (var m in c.OwnMembers)
            {
                if (m.Field.Type == FieldType.Relation)
                {
                    swift.Append($"    // {m.Name}: a relation; reach it with try relation(\"{Quote(m.Name)}\")\n");
                    continue;
                }
                if (m.Field.Description is not null || m.Required) swift.Append($"    /// {Doc(m)}\n");
                swift.Append($"    var {SwiftIdentifier(m.Name)}: {SwiftType(m)}?\n");
            }
            swift.Append("}\n");
        }
        return swift.ToString();
    }

    private static string SwiftType(Member m) => m.Field.Type switch
    {
        FieldType.String => m.Enum?.TypeName ?? "String",
        FieldType.Number => "Double",
        FieldType.Boolean => "Bool",
        FieldType.Date => "Date",
        FieldType.Object => "[String: AnyCodable]",
        FieldType.Array => "[AnyCodable]",
        FieldType.GeoPoint => "ParseGeoPoint",
        FieldType.File => "ParseFile",
        FieldType.Polygon => "ParsePolygon",
        FieldType.Bytes => "ParseBytes",
        FieldType.Pointer when m.Targets is [var only] && IsGeneratedType(only) => $"Pointer<{only}>",
        FieldType.Pointer => "AnyParsePointer",
        _ => "AnyCodable",
    };

    private static readonly HashSet<string> SwiftReserved = new(StringComparer.Ordinal)
    {
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout", "internal", "let",
        "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows", "static", "struct", "subscript",
        "typealias", "var", "break", "case", "catch", "continue", "default", "defer", "do", "else", "fallthrough", "for", "guard",
        "if", "in", "repeat", "return", "throw", "switch", "where", "while", "Any", "as", "false", "is", "nil", "self", "Self",
        "super", "throws", "true", "try",
    };

    private static string SwiftIdentifier(string name) => SwiftReserved.Contains(name) ? $"`{name}`" : name;

    // ---- Kotlin: ParseObject subclasses for the Android SDK ---------------------------------------------------

    private static string Kotlin(Model model)
    {
        var kt = new StringBuilder(Header("//", "kotlin"));
        kt.Append("// For the Parse Android SDK: call registerCrmModels() before Parse.initialize(…).\n");
        kt.Append("package crm.models\n\n");
        kt.Append("import com.parse.ParseClassName\nimport com.parse.ParseFile\nimport com.parse.ParseGeoPoint\nimport com.parse.ParseObject\n");
        kt.Append("import com.parse.ParsePolygon\nimport com.parse.ParseRelation\nimport com.parse.ParseUser\nimport java.util.Date\n\n");
        kt.Append("/** ParseObject.put refuses null: a null clears the field instead. */\n");
        kt.Append("private fun ParseObject.putOrRemove(key: String, value: Any?) {\n    if (value == null) remove(key) else put(key, value)\n}\n");
        foreach (var e in model.Enums)
        {
            kt.Append($"\nenum class {e.TypeName}(val value: String) {{\n");
            kt.Append(string.Join(",\n", e.Values.Select(v => $"    {KotlinEnumConstant(v)}(\"{Quote(v).Replace("$", "\\$", StringComparison.Ordinal)}\")"))).Append(";\n\n");
            kt.Append($"    companion object {{\n        fun of(value: String?): {e.TypeName}? = entries.firstOrNull {{ it.value == value }}\n    }}\n}}\n");
        }
        foreach (var c in model.Classes)
        {
            kt.Append('\n');
            if (c.Description is not null) kt.Append($"/** {OneLine(c.Description)} */\n");
            kt.Append($"@ParseClassName(\"{Quote(c.ClassName)}\")\nclass {c.TypeName} : {(c.IsUser ? "ParseUser" : "ParseObject")}() {{\n");
            var members = c.OwnMembers.ToList();
            foreach (var m in members)
            {
                var key = KotlinKey(m.Name);
                var name = KotlinIdentifier(m.Name);
                if (m.Field.Description is not null || m.Required) kt.Append($"    /** {Doc(m)} */\n");
                if (m.Field.Type == FieldType.Relation)
                {
                    kt.Append($"    val {name}: ParseRelation<{KotlinObjectType(FirstTarget(m))}>\n        get() = getRelation({key})\n\n");
                    continue;
                }
                var (type, getter, setter) = KotlinAccess(m, key);
                kt.Append($"    var {name}: {type}?\n        get() = {getter}\n        set(value) = putOrRemove({key}, {setter})\n\n");
            }
            kt.Append("    companion object {\n");
            foreach (var m in members)
                kt.Append($"        const val {KotlinKey(m.Name)} = \"{Quote(m.Name)}\"\n");
            kt.Append("    }\n}\n");
        }
        kt.Append("\n/** Registers the classes with the SDK; call before Parse.initialize. */\nfun registerCrmModels() {\n");
        foreach (var c in model.Classes) kt.Append($"    ParseObject.registerSubclass({c.TypeName}::class.java)\n");
        kt.Append("}\n");
        return kt.ToString();
    }

    /// <summary>"expectedCloseDate" → "KEY_EXPECTED_CLOSE_DATE", the Android SDK's naming of field-name constants.</summary>
    private static string KotlinKey(string field) => "KEY_" + string.Join('_', NonWord().Split(SplitWords(field))).ToUpperInvariant();

    /// <summary>"expectedCloseDate" → "expected_Close_Date", so the constant reads KEY_EXPECTED_CLOSE_DATE.</summary>
    private static string SplitWords(string name) => CamelBoundary().Replace(name, "$1_$2");

    [GeneratedRegex("([a-z0-9])([A-Z])")]
    private static partial Regex CamelBoundary();

    private static string KotlinEnumConstant(string value)
    {
        var words = NonWord().Split(SplitWords(value)).Where(w => w.Length > 0).Select(w => w.ToUpperInvariant()).ToList();
        var name = words.Count == 0 ? "VALUE" : string.Join('_', words);
        return char.IsDigit(name[0]) ? "_" + name : name;
    }

    private static (string Type, string Getter, string Setter) KotlinAccess(Member m, string key) => m.Field.Type switch
    {
        FieldType.String when m.Enum is { } e => (e.TypeName, $"{e.TypeName}.of(getString({key}))", "value?.value"),
        FieldType.String => ("String", $"getString({key})", "value"),
        FieldType.Number => ("Number", $"getNumber({key})", "value"),
        FieldType.Boolean => ("Boolean", $"get({key}) as? Boolean", "value"),
        FieldType.Date => ("Date", $"getDate({key})", "value"),
        FieldType.Object => ("Map<String, Any?>", $"getMap<Any?>({key})", "value"),
        FieldType.Array => ("List<Any?>", $"getList<Any?>({key})", "value"),
        FieldType.GeoPoint => ("ParseGeoPoint", $"getParseGeoPoint({key})", "value"),
        FieldType.File => ("ParseFile", $"getParseFile({key})", "value"),
        FieldType.Polygon => ("ParsePolygon", $"getParsePolygon({key})", "value"),
        FieldType.Bytes => ("ByteArray", $"getBytes({key})", "value"),
        FieldType.Pointer when m.Targets is [var only] => (KotlinObjectType(only), $"getParseObject({key}) as? {KotlinObjectType(only)}", "value"),
        _ => ("ParseObject", $"getParseObject({key})", "value"),
    };

    private static string KotlinObjectType(string target) => IsGeneratedType(target) ? target : "ParseObject";

    private static readonly HashSet<string> KotlinReserved = new(StringComparer.Ordinal)
    {
        "as", "break", "class", "continue", "do", "else", "false", "for", "fun", "if", "in", "interface", "is", "null", "object",
        "package", "return", "super", "this", "throw", "true", "try", "typealias", "typeof", "val", "var", "when", "while",
    };

    private static string KotlinIdentifier(string name) => KotlinReserved.Contains(name) ? $"`{name}`" : name;
}
