"""The order of the examples gallery (a module, so that the Sphinx configuration pickles)."""


class GalleryOrder:
    """The quickstart and the first hour lead the gallery; the rest by file name."""

    FIRST = ("quickstart.py", "first_hour.py")

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        rank = self.FIRST.index(filename) if filename in self.FIRST else len(self.FIRST)
        return (rank, filename)
