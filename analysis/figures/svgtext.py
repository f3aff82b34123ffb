"""The SVG writer of the figures: matplotlib's, with each string laid out once per process.

matplotlib writes every text of an SVG as glyph paths (``svg.fonttype: path``): for each
text it shapes the string with libraqm to measure it, shapes it again to place its
glyphs, loads every glyph from FreeType and looks the font up by its properties, in
every figure anew. At 10,000 studies that was most of the time of ``draw_figures``
(452 figures, ~24,000 texts, of which ~8,600 differ). All of it depends only on the font
file and the string: matplotlib's :class:`~matplotlib.textpath.TextToPath` lays text out
at a fixed 100 pt and scales it. :class:`CachedTextToPath` keeps, for the life of the
process, each string's glyphs and positions and each glyph's outline, and derives the
string's width, height and descent from them as FreeType's ``set_text`` does (the same
numbers, tested against matplotlib's own on every kind of text the figures draw).
:class:`SVGCanvas` is matplotlib's SVG canvas with that layout, each string's ``<use>``
elements (one per glyph, most of a file) made once per string, and the document built
in memory and written in one piece; its files are byte-identical to matplotlib's 3.11
(tested: the text branch of ``RendererSVG._draw_text_as_path`` is re-done here and writes
through the XML writer's private buffer). Mathtext and TeX, and texts with font features or a language, go to
matplotlib's code unchanged.
"""

from __future__ import annotations

import codecs
import io
from typing import Any

import matplotlib as mpl
from matplotlib import cbook
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import (
    FigureCanvasSVG,
    RendererSVG,
    _generate_css,
    _generate_transform,
    _quote_escape_attrib,
    _short_float_fmt,
)
from matplotlib.colors import rgb2hex
from matplotlib.font_manager import fontManager, get_font
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.textpath import TextToPath

_GENERIC = ("serif", "sans-serif", "cursive", "fantasy", "monospace", "sans", "sans serif")


class _Glyph:
    """One glyph at 100 pt: its id in the SVG, outline, control box and advance (26.6 units)."""

    __slots__ = ("repr", "path", "bbox", "advance")

    def __init__(self, text2path: TextToPath, font: FT2Font, index: int) -> None:
        glyph = font.load_glyph(index, flags=LoadFlags.NO_HINTING)
        self.repr = text2path._get_glyph_repr(font, index)
        verts, codes = font.get_path()
        verts.setflags(write=False)  # shared by every figure of the process
        codes.setflags(write=False)
        self.path = (verts, codes)
        self.bbox = glyph.bbox
        self.advance = glyph.horiAdvance


class CachedTextToPath(TextToPath):
    """:class:`~matplotlib.textpath.TextToPath` that lays out each (font, string) once."""

    def __init__(self) -> None:
        super().__init__()
        self._fonts: dict[tuple, FT2Font] = {}
        self._glyphs: dict[tuple[FT2Font, int], _Glyph] = {}
        # (font, string) -> (((glyph, x, y), ...), (width, height, descent) in pixels at 100 pt)
        self._strings: dict[tuple[FT2Font, str], tuple[tuple, tuple[float, float, float]]] = {}
        self._uses: dict[tuple[FT2Font, str, int], str] = {}

    def _get_font(self, prop: Any) -> FT2Font:
        """The font of ``prop`` at 100 pt, found once per set of properties (and rcParams
        families, which a generic family name stands for)."""
        families = tuple(prop.get_family())
        key = (
            families, prop.get_style(), prop.get_variant(), prop.get_weight(), prop.get_stretch(),
            prop.get_file(), tuple(tuple(mpl.rcParams[f"font.{f}"]) for f in families if f in _GENERIC),
        )  # fmt: skip
        font = self._fonts.get(key)
        if font is None:
            font = self._fonts[key] = get_font(fontManager._find_fonts_by_props(prop))
        font.set_size(self.FONT_SCALE, self.DPI)  # the font object is shared with other renderers
        return font

    def _laid_out(self, font: FT2Font, s: str) -> tuple[tuple, tuple[float, float, float]]:
        key = (font, s)
        found = self._strings.get(key)
        if found is not None:
            return found
        placed = []
        x_min = x_max = 0
        y_min, y_max = 32000 * 64, -32000 * 64
        for item in font._layout(s, LoadFlags.NO_HINTING):
            ft_object, index = item.ft_object, item.glyph_index
            glyph = self._glyphs.get((ft_object, index))
            if glyph is None:
                ft_object.set_size(self.FONT_SCALE, self.DPI)
                glyph = self._glyphs[(ft_object, index)] = _Glyph(self, ft_object, index)
            placed.append((glyph, item.x, item.y))
            # FreeType's set_text: advances from the pen at 0, ink from the outlines.
            pen_x, pen_y = round(item.x * 64), round(item.y * 64)
            x_min, x_max = min(x_min, pen_x), max(x_max, pen_x + glyph.advance)
            y_min, y_max = min(y_min, pen_y + glyph.bbox[1]), max(y_max, pen_y + glyph.bbox[3])
        if placed:
            metrics = ((x_max - x_min) / 64.0, (y_max - y_min) / 64.0, -y_min / 64.0)
        else:
            metrics = (0.0, 0.0, 0.0)
        found = self._strings[key] = (tuple(placed), metrics)
        return found

    def get_text_width_height_descent(self, s: str, prop: Any, ismath: Any) -> tuple[float, float, float]:
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        scale = prop.get_size_in_points() / self.FONT_SCALE
        w, h, d = self._laid_out(self._get_font(prop), s)[1]
        return w * scale, h * scale, d * scale

    def get_glyphs_with_font(
        self,
        font: FT2Font,
        s: str,
        glyph_map: dict | None = None,
        return_new_glyphs_only: bool = False,
        *,
        features: Any = None,
        language: Any = None,
    ) -> tuple[list, dict, list]:
        if features is not None or language is not None:
            return super().get_glyphs_with_font(
                font, s, glyph_map, return_new_glyphs_only, features=features, language=language
            )
        if glyph_map is None:
            glyph_map = {}
        new = {} if return_new_glyphs_only else glyph_map
        info = []
        for glyph, x, y in self._laid_out(font, s)[0]:
            if glyph.repr not in glyph_map and glyph.repr not in new:
                new[glyph.repr] = glyph.path
            info.append((glyph.repr, x, y, 1.0))
        return info, new, []

    def uses(self, font: FT2Font, s: str, depth: int) -> str:
        """The ``<use>`` elements of a string's glyphs, as matplotlib's XML writer writes
        them at nesting ``depth`` (its indentation is one space a level)."""
        key = (font, s, depth)
        text = self._uses.get(key)
        if text is None:
            lines = []
            for glyph, x, y in self._laid_out(font, s)[0]:
                place = _generate_transform([("translate", (x, y)), ("scale", (1.0,))])
                attrs = f" xlink:href={_quote_escape_attrib('#' + glyph.repr)}"
                if place:
                    attrs += f" transform={_quote_escape_attrib(place)}"
                lines.append(f"{' ' * min(depth, 64)}<use{attrs}/>\n")
            text = self._uses[key] = "".join(lines)
        return text


# One per process: every figure drawn by it shares the laid-out strings.
TEXT_PATHS = CachedTextToPath()


class _RendererSVG(RendererSVG):
    """RendererSVG through :data:`TEXT_PATHS`; a string's ``<use>`` elements (one per glyph,
    most of the file) are written as one piece, made once per string and nesting depth."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._text2path = TEXT_PATHS

    def _draw_text_as_path(self, gc: Any, x: float, y: float, s: str, prop: Any, angle: float,
                           ismath: Any, mtext: Any = None) -> None:  # fmt: skip
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        if ismath or features is not None or language is not None:
            return super()._draw_text_as_path(gc, x, y, s, prop, angle, ismath, mtext)
        # RendererSVG._draw_text_as_path of matplotlib 3.11, the text branch.
        writer = self.writer
        writer.comment(s)
        style = {}
        color = rgb2hex(gc.get_rgb())
        if color != "#000000":
            style["fill"] = color
        alpha = gc.get_alpha() if gc.get_forced_alpha() else gc.get_rgb()[3]
        if alpha != 1:
            style["opacity"] = _short_float_fmt(alpha)
        font_scale = prop.get_size_in_points() / TEXT_PATHS.FONT_SCALE
        transform = [("translate", (x, y)), ("rotate", (-angle,)), ("scale", (font_scale, -font_scale))]
        writer.start("g", style=_generate_css(style), transform=_generate_transform(transform))
        font = TEXT_PATHS._get_font(prop)
        _, glyph_map_new, _ = TEXT_PATHS.get_glyphs_with_font(
            font, s, glyph_map=self._glyph_map, return_new_glyphs_only=True
        )
        self._update_glyph_map_defs(glyph_map_new)
        writer._XMLWriter__flush()  # the <g ...> start tag closed, as the first <use> would
        writer._XMLWriter__write(TEXT_PATHS.uses(font, s, len(writer._XMLWriter__tags)))
        writer.end("g")


class SVGCanvas(FigureCanvasSVG):
    """matplotlib's SVG canvas (``FigureCanvasSVG.print_svg``) drawing through
    :data:`TEXT_PATHS`, into memory, written to the file in one call."""

    def print_svg(
        self, filename: Any, *, bbox_inches_restore: Any = None, metadata: Any = None, **_: Any
    ) -> None:
        """``FigureCanvasSVG.print_svg``; the other options of ``savefig`` (dpi, facecolor, ...)
        are applied by ``print_figure`` before, and dropped here as matplotlib drops them."""
        with cbook.open_file_cm(filename, "w", encoding="utf-8") as fh:
            if not cbook.file_requires_unicode(fh):
                fh = codecs.getwriter("utf-8")(fh)
            basename = getattr(fh, "name", "")  # as RendererSVG names it from the file
            buffer = io.StringIO()
            dpi = self.figure.dpi
            self.figure.dpi = 72
            width, height = self.figure.get_size_inches()
            w, h = width * 72, height * 72
            svg = _RendererSVG(
                w, h, buffer, basename=basename if isinstance(basename, str) else "",
                image_dpi=dpi, metadata=metadata,
            )  # fmt: skip
            renderer = MixedModeRenderer(
                self.figure, width, height, dpi, svg, bbox_inches_restore=bbox_inches_restore
            )
            self.figure.draw(renderer)
            renderer.finalize()
            fh.write(buffer.getvalue())
