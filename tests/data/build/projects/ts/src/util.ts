export function helper(s: string): string {
  return s.toUpperCase();
}
export const value: string = 42;
interface Point { x: number; y: { z: string } }
export const p: Point = { x: 1, y: { z: 3 } };
export function f(cb: (a: string) => void) { cb("x"); }
f((a: number) => {});
