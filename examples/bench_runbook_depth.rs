//! Benchmark: parsing runbooks whose lists nest very deep, in two shapes: `- - - … [ ] x` on one
//! line (input linear in the depth), and one bullet per line indented two more spaces each time
//! (input quadratic in the depth, so time per input byte is what to compare). Time per level of
//! the one-line shape should stay flat as depth grows: a parser that walks the open-item stack for
//! each item is quadratic (100,000 levels took 2.8 s).
//!
//! Run: `cargo run --release --example bench_runbook_depth`. Not a test: figures go in README.

use std::time::Instant;

fn indented(levels: usize) -> String {
    let mut s = String::from("# Deep\n\n");
    for i in 0..levels {
        s.push_str(&" ".repeat(2 * i));
        s.push_str(if i % 2 == 0 { "- [ ] step\n" } else { "- note\n" });
    }
    s
}

fn one_line(levels: usize) -> String {
    format!("# Deep\n\n{}[ ] step\n", "- ".repeat(levels))
}

fn main() {
    println!("| shape | levels | input | parse | per level |");
    println!("|---|---|---|---|---|");
    let shapes = [
        ("one line", one_line as fn(usize) -> String, [1_000, 10_000, 100_000]),
        ("indented lines", indented, [250, 500, 1_000]),
    ];
    for (name, make, depths) in shapes {
        for levels in depths {
            let text = make(levels);
            let t = Instant::now();
            let parsed = warroom::runbook::parse(&text, "deep.md");
            let took = t.elapsed();
            let items = parsed.as_ref().map_or(0, |b| b.items.len());
            println!(
                "| {name} | {levels} | {} KiB | {:.1} ms ({items} items) | {:.0} ns |",
                text.len() / 1024,
                took.as_secs_f64() * 1e3,
                took.as_nanos() as f64 / levels as f64
            );
        }
    }
}
