fn main() {
    eprintln!("warroom: under construction");
}
