import pytest
import torch

from infogan.data import deskewed, mutual_neighbours, nearest_neighbours, neighbours_in, pixel_neighbours, unit_features
from infogan.distributed import World
from infogan.errors import InfoGANError


def _brute_force(images, k):
    flat = images.reshape(len(images), -1).float()
    distances = torch.cdist(flat, flat)
    distances.fill_diagonal_(torch.inf)
    return distances.argsort(dim=1)[:, :k]


def test_neighbours_are_the_nearest_other_images_in_every_chunking():
    images = torch.rand(37, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    expected = _brute_force(images, 4)
    for rows_per_chunk in (1, 8, 100):
        assert torch.equal(pixel_neighbours(images, 4, rows_per_chunk=rows_per_chunk), expected)


@pytest.mark.parametrize("ranks", [1, 2, 3, 5])
def test_ranks_shares_of_the_search_make_the_whole_table(ranks):
    images = torch.rand(37, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    shares = [World(rank, ranks).share(len(images)) for rank in range(ranks)]
    parts = [pixel_neighbours(images, 4, rows=share, rows_per_chunk=8) for share in shares]
    assert [len(part) for part in parts] == [len(share) for share in shares]
    assert torch.equal(torch.cat(parts), _brute_force(images, 4))


def test_feature_vectors_have_their_own_nearest_and_pixels_are_vectors_of_their_values():
    vectors = torch.randn(29, 7, generator=torch.Generator().manual_seed(4))
    for rows_per_chunk in (3, 100):
        assert torch.equal(nearest_neighbours(vectors, 5, rows_per_chunk=rows_per_chunk), _brute_force(vectors, 5))
    assert torch.equal(nearest_neighbours(vectors, 5, rows=range(10, 20)), _brute_force(vectors, 5)[10:20])
    images = vectors[:, :4].reshape(29, 1, 2, 2)
    assert torch.equal(pixel_neighbours(images, 3), nearest_neighbours(images.reshape(29, 4), 3))


def test_an_image_is_never_its_own_neighbour_even_beside_a_copy():
    images = torch.rand(6, 1, 3, 3, generator=torch.Generator().manual_seed(1))
    images[5] = images[2]  # a duplicate is the other's nearest, at distance 0
    table = pixel_neighbours(images, 2)
    assert not (table == torch.arange(6)[:, None]).any()
    assert table[2, 0] == 5 and table[5, 0] == 2


def test_uint8_images_have_the_neighbours_of_their_float_values():
    images = torch.randint(0, 256, (20, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(2))
    assert torch.equal(pixel_neighbours(images, 3), _brute_force(images.float() / 255, 3))


@pytest.mark.parametrize("k", [0, 5])
def test_neighbour_count_must_leave_an_image_to_find(k):
    with pytest.raises(InfoGANError, match="neighbours per image must be from 1 to 4"):
        pixel_neighbours(torch.rand(5, 1, 2, 2), k)


def test_mutual_neighbours_keep_the_pairs_that_count_each_other_and_pair_the_rest_with_themselves():
    images = torch.rand(30, 1, 4, 4, generator=torch.Generator().manual_seed(3))
    table = pixel_neighbours(images, 3)
    mutual = mutual_neighbours(table)
    kept = 0
    for image, row in enumerate(table.tolist()):
        for slot, neighbour in enumerate(row):
            counted_back = image in table[neighbour].tolist()
            assert mutual[image, slot] == (neighbour if counted_back else image)
            kept += counted_back
    assert 0 < kept < table.numel()  # both cases happen here


def test_an_images_own_nearest_neighbour_is_mutual_when_it_is_the_nearest_of_its_neighbour():
    images = torch.tensor([0.0, 0.1, 1.0, 3.0]).reshape(4, 1, 1, 1)
    assert mutual_neighbours(pixel_neighbours(images, 1)).flatten().tolist() == [1, 0, 2, 3]


def test_unit_features_are_a_networks_eval_outputs_scaled_to_length_one_in_any_batching():
    network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 6), torch.nn.BatchNorm1d(6))
    network.train()
    network(torch.rand(8, 16))  # moves BatchNorm's running statistics away from their start
    images = torch.randint(0, 256, (11, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = torch.nn.functional.normalize(network.eval()(images.float() / 255), dim=1)
    network.train()
    for batch_size in (3, 100):
        features = unit_features(network, images, batch_size=batch_size)
        assert torch.allclose(features, expected, atol=1e-6) and network.training
    assert torch.allclose(features.norm(dim=1), torch.ones(11))


def _slanted_bar(shear: float, shift: int = 0) -> torch.Tensor:
    """A one-pixel line through rows 3..13 of a 17 × 17 image, leaning ``shear`` columns per row."""
    image = torch.zeros(1, 1, 17, 17)
    for row in range(3, 14):
        image[0, 0, row, round(8 + shift + shear * (row - 8))] = 1.0
    return image


def test_deskewing_stands_a_slanted_stroke_upright_in_the_middle():
    upright = deskewed(_slanted_bar(0.5, shift=-3))[0, 0]
    ink_columns = (upright > 0.3).nonzero()[:, 1]
    assert ink_columns.min() >= 7 and ink_columns.max() <= 9  # one column, give or take the interpolation
    columns = torch.arange(17.0)
    assert (upright.sum(dim=0) * columns).sum() / upright.sum() == pytest.approx(8.0, abs=0.1)


def test_deskewing_leaves_an_upright_centred_stroke_and_a_blank_image_as_they_are():
    upright = _slanted_bar(0.0)
    assert torch.allclose(deskewed(upright), upright, atol=1e-5)
    assert torch.equal(deskewed(torch.zeros(2, 3, 8, 8)), torch.zeros(2, 3, 8, 8))


def test_deskewing_reads_uint8_as_its_float_values_and_shears_every_channel_alike():
    images = torch.randint(0, 256, (4, 1, 9, 9), dtype=torch.uint8, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(deskewed(images), deskewed(images.float() / 255))
    colour = deskewed(images.float().div(255).expand(4, 3, 9, 9))
    assert torch.allclose(colour, deskewed(images).expand(4, 3, 9, 9), atol=1e-6)


def test_neighbours_in_each_space_are_that_spaces_search():
    images = torch.rand(12, 1, 6, 6, generator=torch.Generator().manual_seed(6))
    network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 5))
    assert torch.equal(neighbours_in("pixels", images, 3), pixel_neighbours(images, 3))
    assert torch.equal(neighbours_in("deskewed", images, 3), pixel_neighbours(deskewed(images), 3))
    features = nearest_neighbours(unit_features(network, images), 3, rows=range(4, 8))
    assert torch.equal(neighbours_in("features", images, 3, network=network, rows=range(4, 8)), features)
    with pytest.raises(InfoGANError, match="need the network"):
        neighbours_in("features", images, 3)
