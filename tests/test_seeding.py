"""The seeds of training's random streams: distinct per stream, step and rank, and within 64 bits."""

import itertools

from infogan.config import MAX_SEED
from infogan.seeding import Stream, epoch_seed, step_seed


def test_each_stream_gives_every_step_and_rank_its_own_seed():
    for stream in Stream:
        seeds = [
            step_seed(seed, step, stream, rank) for seed, step, rank in itertools.product(range(3), range(50), range(4))
        ]
        assert len(set(seeds)) == len(seeds)


def test_streams_differ_at_a_step_except_seed_0s_first():
    positions = [(seed, step) for seed, step in itertools.product(range(3), range(50)) if epoch_seed(seed, step) > 0]
    for (seed, step), rank in itertools.product(positions, range(4)):
        assert step_seed(seed, step, Stream.LATENTS, rank) != step_seed(seed, step, Stream.NEIGHBOURS, rank)
    # step 0 of seed 0 seeds both streams with the rank alone (kept: changing it would change every run)
    assert step_seed(0, 0, Stream.LATENTS, 1) == step_seed(0, 0, Stream.NEIGHBOURS, 1) == 1


def test_seeds_fit_a_generator_for_the_largest_seed():
    largest = max(step_seed(MAX_SEED, 10_000_000, stream, rank=1023) for stream in Stream)
    assert 0 <= largest < 2**64


def test_the_formulas_are_the_ones_every_earlier_run_used():
    # (seed * 1,000,003 + position) * multiplier + rank: any change would change every run's draws
    assert epoch_seed(5, 7) == 5_000_022
    assert step_seed(5, 7, Stream.LATENTS, rank=2) == 5_000_022 * 1_009 + 2
    assert step_seed(5, 7, Stream.NEIGHBOURS, rank=2) == 5_000_022 * 1_013 + 2
