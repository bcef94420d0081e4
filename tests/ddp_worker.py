"""Run by tests/test_distributed.py under torchrun: train a tiny model of the default preset, with
pixel neighbours, on two CPU ranks and report, from rank 0, whether every rank holds the same
weights and the neighbour table a single process finds."""

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from infogan.config import preset
from infogan.data import ImageDataset, pixel_neighbours
from infogan.distributed import initialise, shutdown, world_from_env
from infogan.training import Trainer


def main(run_dir: Path, result: Path) -> None:
    world = world_from_env()
    device = initialise(world, torch.device("cpu"))
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    config = preset("mnist-iic").replace(
        steps=3, batch_size=4, log_every=1, sample_every=3, checkpoint_every=3, eval_every=0, iic_neighbours=3
    )
    trainer = Trainer(
        config, run_dir, ImageDataset(images), device=device, progress=False, tensorboard=False, world=world
    )
    before = torch.cat([p.detach().flatten() for p in trainer.nets.parameters()])
    trainer.fit()
    after = torch.cat([p.detach().flatten() for p in trainer.nets.parameters()])
    gathered = [torch.zeros_like(after) for _ in range(world.size)]
    dist.all_gather(gathered, after)
    batches = [torch.zeros(4, dtype=torch.long) for _ in range(world.size)]
    own = trainer.sampler.indices(0)[world.rank * 4 : (world.rank + 1) * 4]
    dist.all_gather(batches, own.contiguous())
    if world.is_main:
        result.write_text(
            json.dumps(
                {
                    "world_size": world.size,
                    "weights_changed": bool((after != before).any()),
                    "ranks_agree": all(torch.equal(g, gathered[0]) for g in gathered),
                    "disjoint_batches": len(set(torch.cat(batches).tolist())) == 4 * world.size,
                    "whole_neighbour_table": torch.equal(trainer.neighbours, pixel_neighbours(images, 3)),
                }
            )
        )
    shutdown(world)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
