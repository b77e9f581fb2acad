using TorchSharp;

// A consumer app: TorchSharp must load here with no manual step.
using var a = torch.ones(2, 2);
using var product = a.matmul(a);
float sum = product.sum().item<float>();
if (sum != 8f)
{
    Console.Error.WriteLine($"unexpected tensor result {sum}");
    return 1;
}

Console.WriteLine($"package smoke: tensor ok ({sum})");
return 0;
