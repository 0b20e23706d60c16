"""The lecture's Pokémon sprites as TFDS datasets (`pokemon`, `pokemon40`)."""

from genzoo.data.pokemon.builders import Pokemon, Pokemon40

__all__ = ["Pokemon", "Pokemon40"]
