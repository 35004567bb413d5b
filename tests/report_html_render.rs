//! `plan --report-html` rendered by a real browser: headless Chromium takes a screenshot of
//! the page made from the scale-out fixture and dumps the DOM it parsed. Chromium is
//! required, not optional: without it the test fails and says how to get it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::cli::{command, fixture_snapshot};

/// The browser: `KAFKA_REPLAN_TEST_CHROMIUM`, else `chromium` or `chromium-browser` on PATH.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("KAFKA_REPLAN_TEST_CHROMIUM") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "KAFKA_REPLAN_TEST_CHROMIUM={} is not a file: scripts/test.sh installs chromium \
             (Debian: apt-get install -y chromium)",
            p.display()
        );
        return p;
    }
    for name in ["chromium", "chromium-browser"] {
        let found = std::env::var_os("PATH").map(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        });
        if let Some(Some(p)) = found {
            return p;
        }
    }
    panic!(
        "chromium not found (neither `chromium` nor `chromium-browser` on PATH, and \
         KAFKA_REPLAN_TEST_CHROMIUM unset): scripts/test.sh installs it (Debian: \
         apt-get install -y chromium)"
    );
}

/// Runs the browser headless with a profile of its own (so parallel runs do not share one)
/// and a time limit: a browser that hangs fails the test instead of stalling it.
fn run_chromium(profile: &Path, args: &[String]) -> Output {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    while child.try_wait().expect("wait for chromium").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("chromium output")
}

/// Width and height from a PNG's IHDR chunk (always the first, right after the signature).
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.len() > 24, "PNG of {} bytes", png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&png[12..16], b"IHDR", "first chunk is not IHDR");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

#[test]
fn report_html_renders_in_chromium() {
    let started = Instant::now();
    let browser = chromium();
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let out = command()
        .args(["plan", "-q", "--snapshot"])
        .arg(fixture_snapshot("scale-out"))
        .arg("--output")
        .arg(dir.path().join("plan.json"))
        .arg("--report-html")
        .arg(&html)
        .arg("--tradeoff")
        .arg(dir.path().join("curve.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(
        page.matches("<svg").count(),
        4,
        "one svg per chart and the trade-off curve"
    );
    for class in ["chart replicas", "chart leaders", "chart bytes"] {
        assert!(page.contains(class), "no {class} chart");
    }
    // The scale-out fixture: brokers 1-9, each with a known capacity.
    for id in 1..=9 {
        assert!(
            page.contains(&format!("broker {id} (r")),
            "broker {id} missing"
        );
    }
    assert_eq!(page.matches("<line class=\"cap\"").count(), 9);
    for text in [
        "Moves by topic",
        "Racks",
        "LB* = 60",
        "122.45 GB",
        "Bytes lower bound",
        "Budget trade-off",
    ] {
        assert!(page.contains(text), "page lacks {text:?}");
    }
    for bad in ["http://", "https://", "<script", "src="] {
        assert!(!page.contains(bad), "page is not self-contained: {bad}");
    }

    let url = format!("file://{}", html.display());
    let shot = dir.path().join("shot.png");
    let out = run_chromium(
        &dir.path().join("profile-shot"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1200,2400".into(),
            url.clone(),
        ],
    );
    assert!(
        shot.is_file(),
        "no screenshot from {}: exit {:?}\n{}",
        browser.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(png_size(&png), (1200, 2400));
    // A blank 1200x2400 page compresses to a few KB; charts and tables take far more.
    assert!(png.len() > 20_000, "screenshot only {} bytes", png.len());

    let out = run_chromium(&dir.path().join("profile-dom"), &["--dump-dom".into(), url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    // The parsed DOM (serialised by the browser) has the three svg elements with their bars:
    // 9 brokers x (before, after) per chart.
    assert_eq!(dom.matches("<svg").count(), 4, "{dom}");
    // The trade-off curve: one point per budget (0, 10, 25, 50, 75, 100 % of 60 moves).
    assert_eq!(dom.matches("<polyline").count(), 1, "{dom}");
    assert_eq!(dom.matches("<circle").count(), 6, "{dom}");
    assert_eq!(dom.matches("<rect").count(), 3 * 18, "{dom}");
    assert!(dom.contains("<title>broker 9 (r3) capacity: 100.00 GB</title>"));
    eprintln!("render test took {:.1} s", started.elapsed().as_secs_f64());
}
