//! A CSV file read by header name: columns may be appended (or reordered) by newer writers
//! without breaking older readers, and every error names the file, line and column.

use crate::ReportError;
use std::path::{Path, PathBuf};

/// A whole CSV file in memory, with its header.
#[derive(Debug)]
pub struct CsvTable {
    path: PathBuf,
    headers: Vec<String>,
    records: Vec<csv::StringRecord>,
}

/// A column found in a [`CsvTable`]'s header.
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    index: usize,
    name: &'a str,
}

/// One record of a [`CsvTable`], with the line it came from.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    table: &'a CsvTable,
    record: &'a csv::StringRecord,
}

impl CsvTable {
    /// Read `path`; a missing file is a [`ReportError::Read`].
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        let mut headers = Vec::new();
        let records = Self::stream(
            path,
            |t| {
                headers = t.headers.clone();
                Ok(Vec::new())
            },
            |records, row| {
                records.push(row.record.clone());
                Ok(())
            },
        )?;
        Ok(CsvTable {
            path: path.to_path_buf(),
            headers,
            records,
        })
    }

    /// Read `path` one record at a time, so memory does not grow with the file: `setup` sees
    /// the header (find columns there), then `each` gets every record in file order.
    pub fn stream<S>(
        path: &Path,
        setup: impl FnOnce(&CsvTable) -> Result<S, ReportError>,
        mut each: impl FnMut(&mut S, Row<'_>) -> Result<(), ReportError>,
    ) -> Result<S, ReportError> {
        let malformed = |e: csv::Error| ReportError::Malformed {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let file = std::fs::File::open(path).map_err(|source| ReportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::Reader::from_reader(std::io::BufReader::new(file));
        let headers = reader
            .headers()
            .map_err(malformed)?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let table = CsvTable {
            path: path.to_path_buf(),
            headers,
            records: Vec::new(),
        };
        let mut state = setup(&table)?;
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(malformed)? {
            each(
                &mut state,
                Row {
                    table: &table,
                    record: &record,
                },
            )?;
        }
        Ok(state)
    }

    /// Read `path` if it exists (`Ok(None)` when it does not).
    pub fn read_optional(path: &Path) -> Result<Option<Self>, ReportError> {
        if path.exists() {
            Self::read(path).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The file this table came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header's column names, in file order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The column called `name`, or an error naming the file and the column.
    pub fn column<'a>(&self, name: &'a str) -> Result<Column<'a>, ReportError> {
        self.find(name).ok_or_else(|| ReportError::MissingColumn {
            path: self.path.clone(),
            column: name.to_string(),
        })
    }

    /// The column called `name`, if the header has it.
    pub fn find<'a>(&self, name: &'a str) -> Option<Column<'a>> {
        let index = self.headers.iter().position(|h| h == name)?;
        Some(Column { index, name })
    }

    /// Records in file order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.records.iter().map(move |record| Row {
            table: self,
            record,
        })
    }
}

impl<'a> Row<'a> {
    /// The cell's text (empty if the record is short).
    pub fn text(&self, column: Column<'_>) -> &'a str {
        self.record.get(column.index).unwrap_or("")
    }

    /// The cell as a non-negative integer.
    pub fn u64(&self, column: Column<'_>) -> Result<u64, ReportError> {
        let text = self.text(column);
        text.trim()
            .parse()
            .map_err(|_| self.bad(column, "a non-negative integer"))
    }

    /// The cell as a finite decimal number.
    pub fn f64(&self, column: Column<'_>) -> Result<f64, ReportError> {
        let text = self.text(column);
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.bad(column, "a finite number")),
        }
    }

    fn bad(&self, column: Column<'_>, expected: &'static str) -> ReportError {
        ReportError::BadValue {
            path: self.table.path.clone(),
            line: self.record.position().map_or(0, |p| p.line()),
            column: column.name.to_string(),
            value: self.text(column).to_string(),
            expected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> CsvTable {
        let dir = std::env::temp_dir().join(format!("spillway-csv-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("t{}.csv", text.len()));
        std::fs::write(&path, text).expect("write");
        CsvTable::read(&path).expect("reads")
    }

    #[test]
    fn columns_are_found_by_name_whatever_their_position() {
        let t = table("b,a,extra\n2,1,x\n");
        let a = t.column("a").expect("a");
        let row = t.rows().next().expect("one row");
        assert_eq!(row.u64(a).expect("int"), 1);
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_column() {
        let t = table("a,b\n1,2\n3,oops\n");
        let err = t.column("c").expect_err("no c").to_string();
        assert!(err.contains(".csv:1: missing column `c`"), "{err}");
        let b = t.column("b").expect("b");
        let err = t.rows().nth(1).expect("row").u64(b).expect_err("oops");
        assert!(err.to_string().contains(":3: column `b`"), "{err}");
        assert!(err.is_bad_input());
    }
}
