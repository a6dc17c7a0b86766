"""Danish first, middle and last names (a few hundred, roughly by frequency), so that
synthetic persons share name bigrams the way real ones do (Nielsen/Nilsen, Jensen/Hansen).

Weights follow Zipf's law by list position: the lists are ordered from most to least common
(Danmarks Statistik's name statistics give the order of the top names; the tail is
illustrative).
"""
from __future__ import annotations

import numpy as np

MALE_FIRST = """
Peter Jens Michael Lars Henrik Thomas Søren Jan Christian Martin Niels Anders Morten Jesper
Mads Rasmus Hans Per Jørgen Ole Mikkel Kim Erik Frederik Poul Carsten Torben Lasse Mathias
Kasper Jacob Allan Steen Klaus John Bo Daniel Flemming Jakob Brian Kenneth Simon Nikolaj
Emil Oliver William Lucas Noah Victor Magnus Oscar Alexander Tobias Sebastian Jonas Christoffer
Andreas Kristian Bent Finn Kurt Leif Erling Knud Preben Benny Bjarne Svend Arne Karl Henning
Johannes Mogens Vagn Aage Arnold Gunnar Tage Viggo Ib Kaj Børge Gert Palle Kjeld Stig Rene
Dennis Jimmi Jonathan Malthe Elias Aksel Carl Alfred Valdemar Storm Villads August Anton
Benjamin Felix Theo Hugo Arthur Milas Liam Malte Bertram Asger Esben Gustav Ebbe Troels
Ulrik Claus Tommy Ronni Dan Torsten Bjørn Ejner Harald Holger Ivan Jørn Otto Robert Sune
""".split()

FEMALE_FIRST = """
Anne Kirsten Mette Hanne Helle Anna Susanne Lene Maria Marianne Lone Camilla Pia Louise
Inge Charlotte Bente Tina Karen Gitte Jette Hanne Birgitte Lise Ida Julie Emma Sofie Laura
Mathilde Freja Clara Alberte Ella Alma Agnes Josefine Caroline Cecilie Katrine Line Maja Nanna
Signe Stine Trine Tanja Heidi Lisbeth Dorthe Ulla Birthe Grethe Inger Else Ruth Kamma Jytte
Vibeke Merete Annette Rikke Sanne Malene Christina Maiken Pernille Louise Rebekka Sara Emilie
Amalie Victoria Olivia Isabella Frida Karla Astrid Esther Lærke Liva Silje Vigga Aya Nora Luna
Eva Tove Hedvig Solveig Dagmar Edith Gudrun Henny Lilly Asta Ellen Margrethe Åse Bodil Ingrid
Conny Dorte Kristina Mia Nadia Jeanette Janni Winnie Dorthea Ea Thea Molly Josephine Ingeborg
""".split()

MIDDLE = """
Holm Lund Bach Kjær Skov Dahl Juul Krogh Vestergaard Østergaard Nørgaard Dam Berg Due Friis
Brandt Bang Winther Lind Bruun Buch Toft Riis Kofoed Borg Storm Mølgaard Schou Høj Munk
""".split()

LAST = """
Nielsen Jensen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen Jørgensen
Petersen Madsen Kristensen Olsen Thomsen Christiansen Poulsen Johansen Møller Mortensen
Knudsen Jakobsen Jacobsen Olesen Mikkelsen Frederiksen Laursen Henriksen Lund Schmidt
Eriksen Holm Kristiansen Clausen Simonsen Svendsen Andreasen Iversen Jeppesen Mogensen
Jespersen Nissen Lauridsen Frandsen Østergaard Jepsen Kjær Carlsen Vestergaard Jessen
Nørgaard Dahl Christoffersen Skov Søndergaard Bertelsen Bruun Lassen Bach Gregersen Friis
Johnsen Steffensen Kjeldsen Bech Krogh Lauritsen Danielsen Mathiesen Andresen Brandt Winther
Toft Ravn Mathiasen Dam Poulsen Lind Berg Schou Nygaard Hedegaard Kristoffersen Overgaard
Villadsen Kirkegaard Hald Bang Buch Jakobsen Kofoed Eskildsen Juhl Mølgaard Hvid Riis Graversen
Abildgaard Ahmed Ali Hussein Khan Yilmaz Nguyen Kaya Demir Hassan Mohamed Özdemir Şahin
Nilsen Hansson Larsson Johansson Karlsen Thygesen Thorsen Bonde Ebbesen Gade Holst Hjorth
Høgh Juul Klausen Koch Kragh Lorentzen Lykke Lyngby Mouritsen Munk Nedergaard Nørregaard
Pallesen Pilgaard Reimer Rosenberg Rytter Sandberg Schultz Sloth Storgaard Sommer Thrane
Troelsen Ulriksen Vinther Westergaard Würtz Yde Østergård Aagaard Aabenhus Albrechtsen
""".split()


def zipf_weights(n: int, exponent: float = 1.0) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** exponent
    out: np.ndarray = w / w.sum()
    return out


def _unique(names: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


FIRST_BY_SEX = (_unique(MALE_FIRST), _unique(FEMALE_FIRST))  # index 0 = M, 1 = F
MIDDLE_NAMES = _unique(MIDDLE)
LAST_NAMES = _unique(LAST)
