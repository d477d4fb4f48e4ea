"""M/M/1 in Ciw, the peer of `spillway simulate scenarios/validation/mm1.yaml` (see bench/peers/README.md).

lambda = 7/s, mu = 10/s (rho = 0.7), one FIFO server, run until 1,000,000 customers have
arrived (by default). Prints customers served, mean queue wait (theory 233.3 ms) and the wall
time of the simulation alone. Run by hand, not in CI:
python3 bench/peers/mm1_ciw.py [customers] [seed]
"""

import sys
import time

import ciw

LAMBDA = 7.0
MU = 10.0


def main():
    customers = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    ciw.seed(seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAMBDA)],
        service_distributions=[ciw.dists.Exponential(rate=MU)],
        number_of_servers=[1],
    )
    start = time.perf_counter()
    sim = ciw.Simulation(network)
    # Simulated time for `customers` arrivals at rate lambda, then enough to serve them.
    sim.simulate_until_max_time(customers / LAMBDA)
    wall = time.perf_counter() - start
    records = sim.get_all_records()
    mean_wait_ms = 1000.0 * sum(r.waiting_time for r in records) / len(records)
    print(
        f"ciw M/M/1: {len(records)} customers, mean wait {mean_wait_ms:.1f} ms "
        f"(theory 233.3), wall {wall:.2f} s, {len(records) / wall / 1e3:.1f} k customers/s"
    )


if __name__ == "__main__":
    main()
