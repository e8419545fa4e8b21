using System.Text.Json.Nodes;
using Crm.Functions.Core.Query;

namespace Crm.Functions.Core.Store;

/// <summary>What an aggregate accumulates per group.</summary>
internal enum AggregateOp { Count, Sum, Avg, Min, Max }

/// <summary>A calendar part of a Date field (UTC), as Mongo's <c>$year</c>, <c>$month</c>, … give it.</summary>
internal enum DatePart { Year, Month, DayOfMonth, Hour, Minute, Second }

/// <summary>One part of a group key: a field's value (a pointer's object id, a date's ISO text) or a part of a date.</summary>
internal sealed record GroupKeyPart(FieldRef Field, DatePart? Part = null);

/// <summary>One accumulated value; <see cref="Field"/> is null only for <see cref="AggregateOp.Count"/>.</summary>
internal sealed record Accumulator(AggregateOp Op, FieldRef? Field);

/// <summary>Orders groups by a key part (<see cref="KeyIndex"/>) or an accumulator (<see cref="AccumulatorIndex"/>).</summary>
internal sealed record GroupOrder(int? KeyIndex, int? AccumulatorIndex, bool Descending);

/// <summary>
/// A grouped aggregate over the objects of a class matching <see cref="Where"/>: one row per distinct key (one row in
/// all when <see cref="Key"/> is empty), ordered, skipped and limited by the store. Stores answer at most
/// <see cref="Limit"/> rows; the core asks one more than it allows, to tell "too many groups" from "exactly enough".
/// </summary>
internal sealed record AggregateQuery(string ClassName, QueryNode Where, IReadOnlyList<GroupKeyPart> Key,
    IReadOnlyList<Accumulator> Accumulators, IReadOnlyList<GroupOrder> Order, int Skip, int Limit);

/// <summary>
/// One group: its key parts (a field's stored JSON value — a pointer's object id and a date's ISO text as strings —
/// or a date part as a number; null when missing) and its accumulated values (numbers; Min/Max keep the stored
/// value, dates as ISO text; an average or sum of no numbers is null and 0).
/// </summary>
internal sealed record AggregateRow(IReadOnlyList<JsonNode?> Key, IReadOnlyList<JsonNode?> Values);
