use std::collections::HashMap;

fn add(a: i32, b: i32) -> i32 {
    a + b
}

fn main() {
    let unused = 5;
    let s: String = add(1, 2);
    let v = vec![1, 2, 3];
    v.push(4);
    println!("{}", s);
}
