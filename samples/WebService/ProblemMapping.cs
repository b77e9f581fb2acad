using AgeGroupAnomaly;
using Microsoft.AspNetCore.Diagnostics;

namespace WebService;

/// <summary>
/// Maps the library's exceptions to RFC 7807 problem details: 400 bad input, 404 no model for the
/// age or an unknown id, 409 an overlapping range, 422 too few samples. Anything else stays a 500.
/// </summary>
internal sealed class ProblemMapping(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        (int status, string title)? mapped = exception switch
        {
            ModelNotFoundException => (StatusCodes.Status404NotFound, "Unknown model"),
            NoModelForAgeException => (StatusCodes.Status404NotFound, "No model for this age"),
            OverlappingRangeException => (StatusCodes.Status409Conflict, "Overlapping age range"),
            InsufficientSamplesException => (StatusCodes.Status422UnprocessableEntity, "Too few samples"),
            InvalidEmbeddingException => (StatusCodes.Status400BadRequest, "Invalid embedding"),
            ArgumentException => (StatusCodes.Status400BadRequest, "Invalid request"),
            BadHttpRequestException => (StatusCodes.Status400BadRequest, "Invalid request"),
            _ => null,
        };
        if (mapped is not { } m)
        {
            return false;
        }

        context.Response.StatusCode = m.status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = m.status, Title = m.title, Detail = exception.Message, Type = exception.GetType().Name },
        });
    }
}
