"""PyTorch side of bench/suites/engine.ts: the same convolution, same threads, same device.
Prints a JSON array of {name, unit, median, min, max, n}."""
import argparse, json, statistics, time
import torch

p = argparse.ArgumentParser()
p.add_argument('--threads', type=int, required=True)
p.add_argument('--device', default='cpu')
a = p.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)

def sync():
    if dev.type == 'cuda':
        torch.cuda.synchronize()

def bench(fn, warmup=3, min_iters=10, min_s=2.0):
    for _ in range(warmup):
        fn()
    sync()
    samples, start = [], time.perf_counter()
    while len(samples) < min_iters or time.perf_counter() - start < min_s:
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples

def result(name, unit, s):
    return {'name': name, 'unit': unit, 'median': statistics.median(s), 'min': min(s), 'max': max(s), 'n': len(s)}

g = torch.Generator().manual_seed(1)
x = torch.randn(1, 64, 128, 128, generator=g).to(dev)
w = (torch.randn(64, 64, 3, 3, generator=g) * 0.05).to(dev).requires_grad_()
b = torch.randn(64, generator=g).to(dev).requires_grad_()

def step():
    y = torch.nn.functional.conv2d(x, w, b, padding=1)
    y.sum().backward()
    w.grad = None
    b.grad = None

# The same tiny op as engine.op_overhead (µs per call of a + 1 on a 1-element tensor).
a = torch.ones(1, device=dev)
calls = 20000
def tiny():
    for _ in range(calls):
        a + 1
overhead = [ms * 1000 / calls for ms in bench(tiny, warmup=1, min_iters=5, min_s=1.0)]

print(json.dumps([result('torch.engine.conv2d_3x3_64_128_fwd_bwd', 'ms', bench(step)),
                  result('torch.engine.op_overhead', 'µs', overhead)]))
