using System.Globalization;
using System.Text;

namespace AgeGroupAnomaly.Benchmarks.Quality;

/// <summary>Turns the per-group outcomes into the markdown tables and the JSON file.</summary>
internal sealed class QualityReport(
    IReadOnlyList<QualityDataSet> dataSets,
    IReadOnlyList<int> seeds,
    Dictionary<(string Method, string DataSet), List<GroupOutcome>> results,
    Dictionary<string, string> families,
    Dictionary<string, string> descriptions,
    IReadOnlyList<string> notes,
    bool smoke)
{
    /// <summary>How far below the best peer's min AUC a method may stay and still meet the goal.</summary>
    public const double MinAucSlack = 0.005;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private IEnumerable<string> MethodNames(string family) =>
        families.Where(f => f.Value == family).Select(f => f.Key).Distinct()
            .OrderBy(n => family == "peer" ? (n.StartsWith("distance", StringComparison.Ordinal) ? "~" : n) : "");

    public string Markdown()
    {
        var text = new StringBuilder();
        text.AppendLine(Inv, $"## Detection quality{(smoke ? " (SMOKE: tiny run, numbers mean nothing)" : "")}");
        text.AppendLine();
        text.AppendLine(Inv, $"Seeds {string.Join(", ", seeds)} (each seed changes the split and the training seed). Per group: 70 % of its rows train, 30 % are held-out normal rows; anomalies are rows of the other groups (at most 600, evenly drawn). AUC: ROC-AUC with ties counted half. False alarms: held-out normal rows above the method's own threshold (library: the model's threshold; others: the 95th percentile of their training-row scores by the same rule), nominal 5 %.");
        text.AppendLine();
        text.AppendLine("Data sets: " + string.Join("; ", dataSets.Select(d => $"{d.Name} {d.Rows.Length}×{d.Dimension}, {d.Groups.Length} groups")) + ".");
        foreach (string note in notes)
        {
            text.AppendLine().AppendLine(note);
        }

        text.AppendLine();
        text.AppendLine("mean AUC = mean over groups, averaged over seeds; min AUC = lowest group, averaged over seeds; (worst seed) in brackets.");
        text.AppendLine();
        text.AppendLine("| Method | Data set | mean AUC (worst seed) | min AUC (worst seed) | false alarms (worst seed) |");
        text.AppendLine("|---|---|---|---|---|");
        foreach (QualityDataSet data in dataSets)
        {
            foreach (string method in MethodNames("library").Concat(MethodNames("peer")))
            {
                if (results.TryGetValue((method, data.Name), out List<GroupOutcome>? outcomes))
                {
                    Summary s = QualityMode.Summarise(outcomes);
                    text.AppendLine(Inv, $"| {method} | {data.Name} | {s.MeanAuc:F4} ({s.WorstSeedMeanAuc:F4}) | {s.MinAuc:F4} ({s.WorstSeedMinAuc:F4}) | {Pct(s.FalseAlarm)} ({Pct(s.WorstSeedFalseAlarm)}) |");
                }
            }
        }

        text.AppendLine();
        text.AppendLine(Inv, $"Goal (issue 13): mean AUC ≥ the best peer's and min AUC ≥ that peer's min − {MinAucSlack}, seed-averaged; in brackets the seeds on which it also holds seed by seed. Margins: mean AUC − peer's mean / min AUC − (peer's min − {MinAucSlack}).");
        text.AppendLine();
        text.AppendLine("| Data set | best peer | its mean AUC | its min AUC | library default | original service config |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (QualityDataSet data in dataSets)
        {
            (string? peer, Summary? best) = BestPeer(data.Name);
            if (peer is null)
            {
                continue;
            }

            text.AppendLine(Inv, $"| {data.Name} | {peer} | {best!.MeanAuc:F4} | {best.MinAuc:F4} | {Goal("library default", data.Name)} | {Goal("original service config", data.Name)} |");
        }

        List<string> levers = [.. MethodNames("lever")];
        if (levers.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("### Levers (settings a user can make today; Δ against the library default on the same splits)");
            text.AppendLine();
            foreach (string lever in levers)
            {
                text.AppendLine(Inv, $"- {lever}: {descriptions[lever]}");
            }

            text.AppendLine();
            text.AppendLine("| Lever | Data set | mean AUC (Δ) | min AUC (Δ) | false alarms (worst seed) | goal |");
            text.AppendLine("|---|---|---|---|---|---|");
            foreach (QualityDataSet data in dataSets)
            {
                Summary baseline = QualityMode.Summarise(results[("library default", data.Name)]);
                foreach (string lever in levers)
                {
                    if (results.TryGetValue((lever, data.Name), out List<GroupOutcome>? outcomes))
                    {
                        Summary s = QualityMode.Summarise(outcomes);
                        text.AppendLine(Inv, $"| {lever} | {data.Name} | {s.MeanAuc:F4} ({s.MeanAuc - baseline.MeanAuc:+0.0000;-0.0000}) | {s.MinAuc:F4} ({s.MinAuc - baseline.MinAuc:+0.0000;-0.0000}) | {Pct(s.FalseAlarm)} ({Pct(s.WorstSeedFalseAlarm)}) | {Goal(lever, data.Name)} |");
                    }
                }
            }
        }

        return text.ToString();
    }

    public object Json(TimeSpan elapsed, string[] args) => new
    {
        command = "--quality " + string.Join(' ', args.Where(a => a != "--quality")),
        smoke,
        elapsedSeconds = Math.Round(elapsed.TotalSeconds, 1),
        seeds,
        notes,
        dataSets = dataSets.Select(d => new { name = d.Name, rows = d.Rows.Length, dimension = d.Dimension, groups = d.Groups.Length }),
        methods = results.Keys.Select(k => k.Method).Distinct().Select(m => new
        {
            name = m,
            family = families[m],
            description = descriptions.GetValueOrDefault(m),
            dataSets = dataSets.Where(d => results.ContainsKey((m, d.Name))).Select(d =>
            {
                List<GroupOutcome> outcomes = results[(m, d.Name)];
                Summary s = QualityMode.Summarise(outcomes);
                return new
                {
                    dataSet = d.Name,
                    s.MeanAuc, s.WorstSeedMeanAuc, s.MinAuc, s.WorstSeedMinAuc, s.FalseAlarm, s.WorstSeedFalseAlarm,
                    goal = families[m] == "peer" ? null : Goal(m, d.Name),
                    seeds = s.Seeds,
                    groups = outcomes,
                };
            }),
        }),
    };

    private (string? Name, Summary? Summary) BestPeer(string dataSet)
    {
        (string Name, Summary Summary)[] peers = [.. MethodNames("peer").Where(p => results.ContainsKey((p, dataSet))).Select(p => (p, QualityMode.Summarise(results[(p, dataSet)])))];
        return peers.Length == 0 ? (null, null) : peers.MaxBy(p => p.Summary.MeanAuc);
    }

    private string Goal(string method, string dataSet)
    {
        (string? peer, Summary? best) = BestPeer(dataSet);
        if (peer is null || !results.TryGetValue((method, dataSet), out List<GroupOutcome>? outcomes))
        {
            return "n/a";
        }

        Summary s = QualityMode.Summarise(outcomes);
        double meanMargin = s.MeanAuc - best!.MeanAuc;
        double minMargin = s.MinAuc - (best.MinAuc - MinAucSlack);
        int seedsMet = s.Seeds.Count(seed =>
        {
            SeedSummary p = best.Seeds.Single(b => b.Seed == seed.Seed);
            return seed.MeanAuc >= p.MeanAuc && seed.MinAuc >= p.MinAuc - MinAucSlack;
        });
        string verdict = meanMargin >= 0 && minMargin >= 0 ? "yes" : "no";
        return string.Create(Inv, $"{verdict} ({seedsMet}/{s.Seeds.Length}) {meanMargin:+0.0000;-0.0000} / {minMargin:+0.0000;-0.0000}");
    }

    private static string Pct(double value) => (100 * value).ToString("F1", Inv) + " %";
}
