//! report.html in a real browser: headless Chromium renders it, every chart lays out, no image
//! fails to load, no script or console error fires, and the screenshot is not blank.
//!
//! Skipped (loudly) when Chromium is absent, unless `SPILLWAY_REQUIRE_BROWSER=1` (CI).

use super::{spillway_ok, temp_dir};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Checks run inside the page, injected into a copy of report.html (the report itself has
/// no script). Errors are caught from the first moment: resource load failures (capture
/// phase), uncaught script errors and `console.error`.
const CHECK_SCRIPT: &str = r#"<script>
(function () {
  var problems = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { problems.push('failed to load ' + (t.src || t.href)); }
    else { problems.push('script error: ' + e.message); }
  }, true);
  var original = console.error;
  console.error = function () {
    problems.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
  window.addEventListener('load', function () {
    var images = document.images;
    for (var i = 0; i < images.length; i++) {
      if (!(images[i].complete && images[i].naturalWidth > 0)) { problems.push('image not loaded: ' + images[i].src); }
    }
    var charts = document.querySelectorAll('figure svg');
    for (var j = 0; j < charts.length; j++) {
      var r = charts[j].getBoundingClientRect();
      if (r.width < 200 || r.height < 100) { problems.push('chart ' + j + ' not laid out: ' + r.width + 'x' + r.height); }
    }
    if (charts.length === 0) { problems.push('no charts'); }
    if (!document.querySelector('table.comparison td.best')) { problems.push('no highlighted best value'); }
    var visible = function (el) { var r = el && el.getBoundingClientRect(); return r && r.width > 0 && r.height > 0; };
    var headline = document.querySelector('#headline table.headline');
    if (!visible(headline)) { problems.push('headline table not visible'); }
    else if (!headline.querySelector('td.best')) { problems.push('headline marks no best policy'); }
    if (document.querySelectorAll('ul.verdicts li').length === 0) { problems.push('no verdicts'); }
    var tables = document.querySelectorAll('table.comparison');
    var columns = 0;
    for (var k = 0; k < tables.length; k++) {
      if (!visible(tables[k])) { problems.push('summary table ' + k + ' not visible'); }
      columns += tables[k].querySelectorAll('thead th').length - 2;
    }
    if (columns < 20) { problems.push('full summary shows only ' + columns + ' columns'); }
    var root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) { problems.push('page overflows: ' + root.scrollWidth + ' > ' + root.clientWidth); }
    var boxes = document.querySelectorAll('.scroll, figure, table');
    for (var m = 0; m < boxes.length; m++) {
      var b = boxes[m].getBoundingClientRect();
      if (b.right > root.clientWidth + 1) { problems.push(boxes[m].tagName + ' ' + m + ' sticks out: right ' + b.right); }
      if (boxes[m].className === 'scroll' && boxes[m].scrollWidth > boxes[m].clientWidth + 1) {
        problems.push('table cut off at this width: ' + boxes[m].scrollWidth + ' > ' + boxes[m].clientWidth);
      }
    }
    document.body.setAttribute('data-check', problems.length ? 'FAIL ' + problems.join(' | ')
      : 'ok charts=' + charts.length + ' images=' + images.length + ' summary columns=' + columns);
  });
})();
</script>"#;

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SPILLWAY_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// Run Chromium headless on `url` with `extra` flags; stdout goes to a file. Gives up (and
/// kills it) after two minutes so a wedged browser cannot hang the suite.
fn run_chromium(browser: &Path, work: &Path, extra: &[String], url: &str) -> String {
    let profile = work.join(format!("profile-{}", extra.len()));
    std::fs::create_dir_all(&profile).expect("profile dir");
    let stdout_path = work.join(format!("stdout-{}.txt", extra.len()));
    let stdout = std::fs::File::create(&stdout_path).expect("stdout file");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    for _ in 0..1200 {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "chromium exited with {status}");
            return std::fs::read_to_string(&stdout_path).expect("stdout");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("chromium did not finish within two minutes");
}

/// Mean and variance of luma over the screenshot, and the number of distinct colors.
fn pixel_stats(png_path: &Path) -> (u32, u32, f64, f64, usize) {
    let file = std::fs::File::open(png_path).expect("screenshot exists");
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("screenshot is a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("frame");
    let channels = info.color_type.samples();
    assert!(channels >= 3, "color screenshot");
    let pixels = &buf[..info.buffer_size()];
    let mut colors = std::collections::BTreeSet::new();
    let (mut sum, mut sum_sq, mut n) = (0.0, 0.0, 0.0);
    for px in pixels.chunks_exact(channels) {
        let luma = 0.299 * f64::from(px[0]) + 0.587 * f64::from(px[1]) + 0.114 * f64::from(px[2]);
        sum += luma;
        sum_sq += luma * luma;
        n += 1.0;
        colors.insert((px[0], px[1], px[2]));
    }
    let mean = sum / n;
    (
        info.width,
        info.height,
        mean,
        sum_sq / n - mean * mean,
        colors.len(),
    )
}

#[test]
fn report_html_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        spillway_testkit::skip_or_fail(
            "SPILLWAY_REQUIRE_BROWSER",
            "chromium not found (install it: apt-get install chromium)",
        );
        return;
    };
    let dir = temp_dir("browser");
    spillway_ok(&[
        "simulate",
        "scenarios/spike.yaml",
        "--duration",
        "2m",
        "--quiet",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    let dir = dir.canonicalize().expect("absolute path");
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    let checked = html.replacen("<head>", &format!("<head>\n{CHECK_SCRIPT}"), 1);
    assert_ne!(checked, html, "the check script is injected");
    std::fs::write(dir.join("check.html"), checked).expect("check.html");

    for width in [800, 1400] {
        check_at_width(&browser, &dir, width);
    }
}

/// Load the checked page at `width` px (the in-page checks must pass), then screenshot the
/// report itself at that width and check it is not blank.
fn check_at_width(browser: &Path, dir: &Path, width: u32) {
    let dom = run_chromium(
        browser,
        dir,
        &[
            "--dump-dom".into(),
            "--virtual-time-budget=5000".into(),
            format!("--window-size={width},2000"),
        ],
        &format!("file://{}", dir.join("check.html").display()),
    );
    let verdict = dom
        .split("data-check=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("(no verdict: the page did not finish loading)");
    assert!(
        verdict.starts_with("ok charts="),
        "at {width} px: {verdict}"
    );
    eprintln!("browser check at {width} px: {verdict}");

    let shot = dir.join(format!("screenshot-{width}.png"));
    run_chromium(
        browser,
        dir,
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size={width},2000"),
        ],
        &format!("file://{}", dir.join("report.html").display()),
    );
    let (w, height, mean, variance, colors) = pixel_stats(&shot);
    eprintln!(
        "screenshot {}: {w}x{height}, luma mean {mean:.1}, variance {variance:.1}, {colors} colors",
        shot.display()
    );
    assert_eq!((w, height), (width, 2000));
    assert!(
        variance > 100.0,
        "the page looks blank at {width} px (luma variance {variance:.1})"
    );
    assert!(
        colors > 50,
        "too few colors for text, table and charts at {width} px: {colors}"
    );
}
