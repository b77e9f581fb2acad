using AgeGroupAnomaly.Management;
using AgeGroupAnomaly.Training;
using FluentAssertions;
using NUnit.Framework;

namespace AgeGroupAnomaly.Tests.Management;

public sealed class ModelParametersTests
{
    // The parameters JSON of a record written by the previous release (its own field set).
    private const string PreviousReleaseJson = """
        {"Config":{"HiddenSizes":[8,4],"LearningRate":0.001,"BatchSize":16,"Epochs":3,"ValidationSplit":0.2,"EarlyStoppingPatience":10,"MinDelta":0.0001,"Device":"auto","Dropout":0.1,"Seed":42,"ThresholdPercentile":95,"CpuThreads":null},
         "Architecture":{"InputSize":16,"HiddenSizes":[8,4],"Dropout":0.1,"TotalParameters":468,"TrainableParameters":468},
         "Metrics":{"Count":2,"MseLoss":1.5,"Mean":1.5,"Std":0.7,"Min":1,"Max":2,"Percentile95":2,"Percentile99":2,"SortedErrors":[1,2]},
         "ValidationMetrics":{"Count":1,"MseLoss":2,"Mean":2,"Std":0,"Min":2,"Max":2,"Percentile95":2,"Percentile99":2,"SortedErrors":[2]},
         "History":[{"Epoch":1,"TrainLoss":3,"ValidationLoss":2.5,"LearningRate":0.001,"Duration":"00:00:00.0100000"}],
         "ThresholdPolicy":{"Percentile":95,"Rule":"r","CalibrationSet":"c"},
         "StopReason":"MaxEpochs","BestValidationLoss":2.5,"BestEpoch":1}
        """;

    [Test]
    public void Parse_ARecordOfThePreviousRelease_ReadsEveryFieldItHad()
    {
        TrainingSummary summary = ModelParameters.Parse(Guid.NewGuid(), PreviousReleaseJson);

        summary.Architecture.InputSize.Should().Be(16);
        summary.Config.HiddenSizes.Should().Equal(8, 4);
        summary.Metrics.SortedLosses.Should().Equal(1, 2);
        summary.StopReason.Should().Be(StopReason.MaxEpochs);
        summary.FinalValidationLoss.Should().Be(2.5);
        summary.TrainCount.Should().Be(0, "not recorded then");
    }

    [Test]
    public void ToJson_ThenParse_KeepsTheSummary()
    {
        TrainingSummary original = ModelParameters.Parse(Guid.NewGuid(), PreviousReleaseJson) with { TrainCount = 2, ValidationCount = 1, Duration = TimeSpan.FromSeconds(3) };

        string json = ModelParameters.ToJson(original);
        TrainingSummary back = ModelParameters.Parse(Guid.NewGuid(), json);

        back.Should().BeEquivalentTo(original);
    }

    [TestCase("\"Architecture\":{\"InputSize\":16,\"HiddenSizes\":[8,4],\"Dropout\":0.1,\"TotalParameters\":468,\"TrainableParameters\":468}", "\"Architecture\":null")]
    [TestCase("\"Architecture\":{\"InputSize\":16,\"HiddenSizes\":[8,4],\"Dropout\":0.1,\"TotalParameters\":468,\"TrainableParameters\":468}", "\"Architecture\":{\"InputSize\":16,\"HiddenSizes\":[],\"Dropout\":0.1}")]
    [TestCase("\"Metrics\":{", "\"Metrics\":null,\"Unused\":{")]
    [TestCase("\"Config\":{", "\"Config\":null,\"Unused\":{")]
    public void Parse_ARecordWithNullsOrAnImpossibleShape_IsADamagedRecord(string part, string damaged)
    {
        string json = PreviousReleaseJson.Replace(part, damaged, StringComparison.Ordinal);
        json.Should().NotBe(PreviousReleaseJson, "the test must damage something");

        FluentActions.Invoking(() => ModelParameters.Parse(Guid.NewGuid(), json))
            .Should().Throw<ModelLoadingException>().Which.Reason.Should().Be(ModelLoadFailure.DamagedRecord);
    }
}
