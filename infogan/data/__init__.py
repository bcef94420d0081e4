"""Data: named datasets, image folders, procedural dSprites, and the batches a training step reads.

Modules, each importing only those listed before it: :mod:`~infogan.data.root` (where data
lives), :mod:`~infogan.data.image_dataset` (images and labels), :mod:`~infogan.data.image_files`
(reading image files), :mod:`~infogan.data.sampler` (the step-indexed order),
:mod:`~infogan.data.image_folder`, :mod:`~infogan.data.dsprites`, :mod:`~infogan.data.datasets`
(the named datasets), :mod:`~infogan.data.batches` and :mod:`~infogan.data.neighbours`.
"""

from infogan.data.batches import DATA_MODES, make_batches
from infogan.data.datasets import (
    DATASETS,
    DatasetSource,
    dataset_names,
    folder_only,
    load_dataset,
    register_dataset,
)
from infogan.data.dsprites import DSprites
from infogan.data.image_dataset import ImageDataset, as_float, take, to_tensor
from infogan.data.image_files import IMAGE_SUFFIXES, find_images, image_to_tensor, read_image, read_images
from infogan.data.image_folder import load_image_folder
from infogan.data.neighbours import (
    deskewed,
    mutual_neighbours,
    nearest_neighbours,
    neighbours_in,
    pixel_neighbours,
    unit_features,
)
from infogan.data.root import DATA_ROOT_ENV, data_root
from infogan.data.sampler import EpochSampler

__all__ = [
    "DATASETS",
    "DATA_MODES",
    "DATA_ROOT_ENV",
    "IMAGE_SUFFIXES",
    "DSprites",
    "DatasetSource",
    "EpochSampler",
    "ImageDataset",
    "as_float",
    "data_root",
    "dataset_names",
    "deskewed",
    "find_images",
    "folder_only",
    "image_to_tensor",
    "load_dataset",
    "load_image_folder",
    "make_batches",
    "mutual_neighbours",
    "nearest_neighbours",
    "neighbours_in",
    "pixel_neighbours",
    "read_image",
    "read_images",
    "register_dataset",
    "take",
    "to_tensor",
    "unit_features",
]
