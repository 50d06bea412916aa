fn main() {
    println!("kontor");
}
