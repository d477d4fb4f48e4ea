//! Drawing a [`LineChart`] to PNG and SVG with plotters and an embedded font.
//!
//! Text goes through ab_glyph with DejaVu Sans compiled into the binary, so no system font
//! library or font file is needed at build or run time, and the PNG bytes depend only on the
//! chart (the bitmap is encoded here with fixed settings).

use super::chart::{LineChart, Series, tick};
use super::legend::Legend;
use crate::ReportError;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::Once;

/// Width and height of every chart in pixels: readable at README size.
pub const SIZE: (u32, u32) = (800, 450);

pub(super) const FONT: &str = "sans-serif";

/// Width of the right axis's tick labels and description, in pixels.
const RIGHT_AXIS_W: u32 = 70;

/// Text sizes in pixels at the chart's own 800 px width. Pages show charts two abreast at
/// about 650 px, so these stay at 13 px or more there.
const TICK_TEXT: u32 = 17;
const AXIS_TEXT: u32 = 18;
const MARKER_TEXT: u32 = 14;

/// Tableau-like palette: distinct on white, readable when printed in grey.
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// A chart drawn both ways.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// File stem, as in [`LineChart::stem`].
    pub stem: String,
    /// The chart's caption (alt text in HTML).
    pub title: String,
    /// PNG bytes (deterministic).
    pub png: Vec<u8>,
    /// SVG document (text drawn as `<text>`).
    pub svg: String,
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font is valid; if it were not, drawing text would report an error.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Draw `chart` as PNG and SVG.
pub fn render(chart: &LineChart) -> Result<Rendered, ReportError> {
    register_font();
    let plot_error = |message: String| ReportError::Plot {
        plot: chart.stem.clone(),
        message,
    };
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(&root, chart).map_err(|e| plot_error(e.to_string()))?;
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, chart).map_err(|e| plot_error(e.to_string()))?;
    }
    let png = encode_png(&rgb, SIZE).map_err(|e| plot_error(e.to_string()))?;
    Ok(Rendered {
        stem: chart.stem.clone(),
        title: chart.title.clone(),
        png,
        svg,
    })
}

fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Default);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
        writer.finish()?;
    }
    Ok(out)
}

type Ctx<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &LineChart,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let legend = Legend::of(root, chart)?;
    let (top, body) = root.split_vertically(legend.height());
    legend.draw(&top, &chart.title, chart.point_markers)?;
    let (x0, x1) = chart.x_bounds();
    let (y0, y1) = chart.y_bounds();
    let mut builder = ChartBuilder::on(&body);
    builder
        .margin(14)
        .margin_top(6)
        .x_label_area_size(54)
        .y_label_area_size(80);
    if chart.right.is_some() {
        // Room for the right axis, drawn by hand: a plotters label area on the right would
        // repeat the left axis's labels there too.
        builder.margin_right(14 + RIGHT_AXIS_W);
    }
    let mut ctx = builder.build_cartesian_2d(x0..x1, y0..y1)?;
    ctx.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .label_style((FONT, TICK_TEXT))
        .axis_desc_style((FONT, AXIS_TEXT))
        .x_labels(8)
        .y_labels(6)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .bold_line_style(BLACK.mix(0.10))
        .light_line_style(TRANSPARENT)
        .draw()?;
    draw_markers(&mut ctx, chart, (x0, x1), (y0, y1))?;
    for series in chart.series.iter().filter(|s| s.halo) {
        let style = halo_style(palette(series.color));
        let points: Vec<(f64, f64)> = series
            .points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        // Segment by segment: a wide polyline's mitred corners would spike far past sharp
        // peaks (and below the X axis).
        ctx.draw_series(
            points
                .windows(2)
                .map(|w| PathElement::new(w.to_vec(), style)),
        )?;
    }
    let dot = |i: usize| chart.point_markers.then(|| dot_radius(i));
    for (i, series) in chart.series.iter().enumerate() {
        draw_line(&mut ctx, series, dot(i), (2, |y| y))?;
    }
    if let Some(right) = &chart.right {
        let (r0, r1) = right.bounds();
        // Right-axis lines are drawn in the left axis's coordinates, scaled; the secondary
        // coordinates only label the axis.
        let scale = move |y: f64| y0 + (y - r0) * (y1 - y0) / (r1 - r0);
        for (i, series) in right.series.iter().enumerate() {
            // Thin: a rare series on its own scale must not outweigh the main lines.
            draw_line(&mut ctx, series, dot(chart.series.len() + i), (1, scale))?;
        }
        draw_right_axis(root, &ctx, &right.label, (r0, r1))?;
    }
    root.present()
}

/// Ticks, tick labels and the description of the right axis (range `r0..r1`), in the margin
/// right of the plotting area.
fn draw_right_axis<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Ctx<'_, DB>,
    label: &str,
    (r0, r1): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let (xs, ys) = ctx.plotting_area().get_pixel_range();
    let to_y = |v: f64| ys.end - ((v - r0) / (r1 - r0) * f64::from(ys.end - ys.start)) as i32;
    let axis = BLACK.stroke_width(1);
    root.draw(&PathElement::new(
        vec![(xs.end, ys.start), (xs.end, ys.end)],
        axis,
    ))?;
    let text = (FONT, TICK_TEXT)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for v in RangedCoordf64::from(r0..r1).key_points(6) {
        let y = to_y(v);
        root.draw(&PathElement::new(vec![(xs.end, y), (xs.end + 5, y)], axis))?;
        root.draw_text(&tick(v), &text, (xs.end + 8, y))?;
    }
    let desc = (FONT, AXIS_TEXT)
        .into_font()
        .transform(FontTransform::Rotate90)
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    let right = xs.end + RIGHT_AXIS_W as i32 + 10;
    root.draw_text(label, &desc, (right, (ys.start + ys.end) / 2))
}

/// The wide pale stroke of a [`Series::halo`] line.
pub(super) fn halo_style(color: RGBColor) -> ShapeStyle {
    color.mix(0.35).stroke_width(7)
}

/// Dot radius of the `i`th line: smaller for each later line, so dots of lines that coincide
/// nest instead of hiding each other.
pub(super) fn dot_radius(i: usize) -> u32 {
    [7, 5, 3, 2][i.min(3)]
}

/// One line (dashed for references) `width` pixels wide, with a dot of radius `dot` at each
/// point when asked; `scale` maps its Y values onto the left axis.
fn draw_line<DB: DrawingBackend>(
    ctx: &mut Ctx<'_, DB>,
    series: &Series,
    dot: Option<u32>,
    (width, scale): (u32, impl Fn(f64) -> f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let color = palette(series.color);
    let style = color.stroke_width(width);
    let points: Vec<(f64, f64)> = series
        .points
        .iter()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (*x, scale(*y)))
        .collect();
    if series.dashed {
        ctx.draw_series(DashedLineSeries::new(points.iter().copied(), 8, 5, style))?;
    } else {
        ctx.draw_series(LineSeries::new(points.iter().copied(), style))?;
    }
    if let Some(r) = dot {
        ctx.draw_series(points.iter().map(|p| Circle::new(*p, r, color.filled())))?;
    }
    Ok(())
}

/// The palette color of a series index (wraps around).
pub(super) fn palette(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Rows of marker labels at the top of the plot.
const LABEL_ROWS: usize = 3;

/// Thin grey vertical lines at the chart's markers, each with a short label near the top.
/// Labels start at their line (or end there when they would leave the plot) and go to the
/// first of three rows where they overlap no other label, so events close together stay
/// legible and a label is not read as another line's.
fn draw_markers<DB: DrawingBackend>(
    ctx: &mut Ctx<'_, DB>,
    chart: &LineChart,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let grey = RGBColor(110, 110, 110);
    let style = (FONT, MARKER_TEXT)
        .into_font()
        .color(&grey)
        .pos(Pos::new(HPos::Left, VPos::Top));
    let inside: Vec<&(f64, String)> = chart
        .markers
        .iter()
        .filter(|(x, _)| x.is_finite() && *x >= x0 && *x <= x1)
        .collect();
    let (xs, ys) = ctx.plotting_area().get_pixel_range();
    // One row of labels in Y units: the text's height and a little space.
    let row_h = f64::from(MARKER_TEXT + 3) / f64::from((ys.end - ys.start).max(1)) * (y1 - y0);
    let width = f64::from((xs.end - xs.start).max(1));
    let to_px = |x: f64| xs.start + ((x - x0) / (x1 - x0) * width) as i32;
    let mut spans = Vec::new();
    for (x, label) in &inside {
        let (w, _) = ctx.plotting_area().estimate_text_size(label, &style)?;
        spans.push((to_px(*x), w as i32));
    }
    let placed = place_labels(&spans, xs.end);
    for ((x, label), (left, row)) in inside.iter().zip(placed) {
        ctx.draw_series(std::iter::once(PathElement::new(
            vec![(*x, y0), (*x, y1)],
            grey.mix(0.7).stroke_width(1),
        )))?;
        let y = y1 - (y1 - y0) * 0.01 - row_h * row as f64;
        let at = x0 + f64::from(left - xs.start) / width * (x1 - x0);
        ctx.draw_series(std::iter::once(Text::new(
            label.clone(),
            (at, y),
            style.clone(),
        )))?;
    }
    Ok(())
}

/// Where marker labels go: for each `(line x, text width)` in pixels, the text's left edge
/// and its row. A label starts just right of its line, or ends just left of it when it would
/// pass `right_edge`; it takes the first row whose labels end before it starts (the rows in
/// turn when none is free).
fn place_labels(spans: &[(i32, i32)], right_edge: i32) -> Vec<(i32, usize)> {
    const PAD: i32 = 3;
    const SPACE: i32 = 8;
    let mut row_end = [i32::MIN; LABEL_ROWS];
    spans
        .iter()
        .enumerate()
        .map(|(i, (x, w))| {
            let left = if x + PAD + w <= right_edge {
                x + PAD
            } else {
                x - PAD - w
            };
            let row = (0..LABEL_ROWS)
                .find(|r| row_end[*r].saturating_add(SPACE) <= left)
                .unwrap_or(i % LABEL_ROWS);
            row_end[row] = left + w;
            (left, row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> LineChart {
        let mut chart = LineChart::new("t", "A test chart", "time (s)", "requests/s");
        chart.series.push(Series {
            name: "policy-a".into(),
            color: 0,
            points: (0..50)
                .map(|i| (f64::from(i), f64::from(i * i % 17)))
                .collect(),
            dashed: false,
            halo: false,
        });
        chart.series.push(Series {
            name: "limit".into(),
            color: 3,
            points: vec![(0.0, 10.0), (49.0, 10.0)],
            dashed: true,
            halo: false,
        });
        chart
    }

    #[test]
    fn png_bytes_are_deterministic_and_decode_to_the_chart_size() {
        let (a, b) = (render(&chart()).expect("a"), render(&chart()).expect("b"));
        assert_eq!(a.png, b.png);
        assert_eq!(a.svg, b.svg);
        let decoder = png::Decoder::new(a.png.as_slice());
        let reader = decoder.read_info().expect("valid png");
        assert_eq!((reader.info().width, reader.info().height), SIZE);
    }

    #[test]
    fn svg_carries_the_title_labels_and_legend_as_text() {
        let svg = render(&chart()).expect("renders").svg;
        for text in [
            "A test chart",
            "time (s)",
            "requests/s",
            "policy-a",
            "limit",
        ] {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
    }

    #[test]
    fn marker_labels_do_not_overlap_and_stay_inside() {
        // Two events at one instant stack; a later one far enough away reuses the top row;
        // one near the right edge ends at its line.
        let placed = place_labels(&[(100, 80), (100, 50), (300, 40), (790, 60)], 800);
        assert_eq!(placed, vec![(103, 0), (103, 1), (303, 0), (727, 0)]);
    }

    #[test]
    fn an_empty_chart_still_renders() {
        let empty = LineChart::new("e", "nothing", "x", "y");
        assert!(!render(&empty).expect("renders").png.is_empty());
    }
}
