/**
 * Fold an error message into one short line: newlines collapse to spaces and anything past
 * `max` characters is cut (a message must name the problem, never carry a whole file).
 *
 * @example
 * oneLine('bad\nthing', 80); // 'bad thing'
 */
export function oneLine(message: string, max = 400): string {
  const flat = message.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
