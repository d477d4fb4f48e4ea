//! The title and legend strip above a chart's plotting area. A legend inside the plot hides
//! data and the scenario's marker labels (a nine-entry budget legend once covered the spend
//! lines), so entries are laid out in rows above the plot, as many per row as fit.

use super::chart::LineChart;
use super::render::{FONT, SIZE, dot_radius, halo_style, palette};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const TITLE_H: u32 = 36;
const ROW_H: u32 = 23;
/// Length of the line sample before an entry's text.
const SAMPLE: u32 = 24;
/// Space between the sample and the text, and after an entry.
const PAD: u32 = 6;
const GAP: u32 = 20;
const SIDE: u32 = 14;
const TEXT_SIZE: u32 = 16;

/// One legend entry.
struct Entry {
    text: String,
    color: usize,
    dashed: bool,
    halo: bool,
    /// Pixel width of sample, text and trailing gap.
    width: u32,
}

/// Legend entries laid out in rows.
pub struct Legend {
    entries: Vec<Entry>,
    rows: Vec<Vec<usize>>,
}

impl Legend {
    /// The entries of `chart` (left-axis lines, then right-axis lines marked so), measured
    /// with the font they are drawn in.
    pub fn of<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        chart: &LineChart,
    ) -> Result<Legend, DrawingAreaErrorKind<DB::ErrorType>> {
        let right = chart.right.iter().flat_map(|r| r.series.iter());
        let named = chart
            .series
            .iter()
            .map(|s| (s.name.clone(), s))
            .chain(right.map(|s| (format!("{} (right axis)", s.name), s)));
        let style = TextStyle::from((FONT, TEXT_SIZE).into_font());
        let mut entries = Vec::new();
        for (text, s) in named {
            let (w, _) = root.estimate_text_size(&text, &style)?;
            entries.push(Entry {
                width: SAMPLE + PAD + w + GAP,
                text,
                color: s.color,
                dashed: s.dashed,
                halo: s.halo,
            });
        }
        let widths: Vec<u32> = entries.iter().map(|e| e.width).collect();
        let rows = wrap(&widths, SIZE.0 - 2 * SIDE + GAP);
        Ok(Legend { entries, rows })
    }

    /// Height of the strip: the title and one line per legend row.
    pub fn height(&self) -> u32 {
        TITLE_H + ROW_H * self.rows.len() as u32
    }

    /// Draw the title and the rows (each row centred) on `top`.
    pub fn draw<DB: DrawingBackend>(
        &self,
        top: &DrawingArea<DB, Shift>,
        title: &str,
        dots: bool,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let center = (SIZE.0 / 2) as i32;
        let title_style = (FONT, 24)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        top.draw_text(title, &title_style, (center, 8))?;
        for (r, row) in self.rows.iter().enumerate() {
            let used: u32 = row.iter().map(|i| self.entries[*i].width).sum::<u32>() - GAP;
            let mut x = center - (used / 2) as i32;
            let y = (TITLE_H + ROW_H * r as u32 + ROW_H / 2) as i32;
            for i in row {
                let entry = &self.entries[*i];
                draw_entry(top, entry, (x, y), dots.then(|| dot_radius(*i)))?;
                x += entry.width as i32;
            }
        }
        Ok(())
    }
}

fn draw_entry<DB: DrawingBackend>(
    top: &DrawingArea<DB, Shift>,
    entry: &Entry,
    (x, y): (i32, i32),
    dot: Option<u32>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let color = palette(entry.color);
    let style = color.stroke_width(2);
    let sample = SAMPLE as i32;
    if entry.halo {
        top.draw(&PathElement::new(
            vec![(x, y), (x + sample, y)],
            halo_style(color),
        ))?;
    }
    if entry.dashed {
        top.draw(&PathElement::new(vec![(x, y), (x + 9, y)], style))?;
        top.draw(&PathElement::new(vec![(x + 15, y), (x + sample, y)], style))?;
    } else {
        top.draw(&PathElement::new(vec![(x, y), (x + sample, y)], style))?;
    }
    if let Some(r) = dot {
        top.draw(&Circle::new((x + sample / 2, y), r, color.filled()))?;
    }
    let text_style = (FONT, TEXT_SIZE)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    top.draw_text(&entry.text, &text_style, (x + sample + PAD as i32, y))
}

/// Greedy rows of item indices whose widths sum to at most `room` (an item wider than the
/// room gets a row of its own); no rows for no items.
pub fn wrap(widths: &[u32], room: u32) -> Vec<Vec<usize>> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut used = 0u32;
    for (i, w) in widths.iter().enumerate() {
        match rows.last_mut() {
            Some(row) if used.saturating_add(*w) <= room => {
                row.push(i);
                used = used.saturating_add(*w);
            }
            _ => {
                rows.push(vec![i]);
                used = *w;
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_wrap_into_rows_that_fit() {
        assert!(wrap(&[], 100).is_empty());
        assert_eq!(wrap(&[40, 40, 40], 100), vec![vec![0, 1], vec![2]]);
        assert_eq!(wrap(&[150, 10, 10], 100), vec![vec![0], vec![1, 2]]);
        assert_eq!(wrap(&[50, 50], 100), vec![vec![0, 1]]);
    }
}
