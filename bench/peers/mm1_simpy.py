"""M/M/1 in SimPy, the peer of `spillway simulate scenarios/validation/mm1.yaml` (see bench/peers/README.md).

lambda = 7/s, mu = 10/s (rho = 0.7), one FIFO server, 1,000,000 customers by default.
Prints customers served, mean queue wait (theory: rho / (mu - lambda) = 233.3 ms) and the
wall time of the simulation alone (model set-up included, interpreter start-up excluded).
Run by hand, not in CI:  python3 bench/peers/mm1_simpy.py [customers] [seed]
"""

import random
import sys
import time

import simpy

LAMBDA = 7.0
MU = 10.0


def main():
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rng = random.Random(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    waits = []

    def customer(arrived):
        with server.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rng.expovariate(MU))

    def source():
        for _ in range(customers):
            yield env.timeout(rng.expovariate(LAMBDA))
            env.process(customer(env.now))

    start = time.perf_counter()
    env.process(source())
    env.run()
    wall = time.perf_counter() - start
    mean_wait_ms = 1000.0 * sum(waits) / len(waits)
    print(
        f"simpy M/M/1: {len(waits)} customers, mean wait {mean_wait_ms:.1f} ms "
        f"(theory 233.3), wall {wall:.2f} s, {len(waits) / wall / 1e3:.1f} k customers/s"
    )


if __name__ == "__main__":
    main()
