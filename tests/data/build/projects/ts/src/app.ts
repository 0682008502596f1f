import { missing } from "./nope";
import { helper } from "./util";

interface User { name: string; age: number }

export function greet(u: User): string {
  const n: number = u.name;
  return "hi " + u.nmae + helper(1);
}

export function total(xs: number[]): number {
  let t = 0;
  for (const x of xs) t += x;
  undefinedFn(t);
  return t
}
