/** Reading single series out of a Prometheus text exposition. */

/** The value of one series, written exactly as exposed (`name{label="v",…}`), or undefined when absent. */
export function seriesValue(body: string, series: string): number | undefined {
  let at = body.startsWith(`${series} `) ? 0 : body.indexOf(`\n${series} `);
  if (at < 0) return undefined;
  if (at > 0) at += 1;
  const end = body.indexOf('\n', at);
  return Number(body.slice(at + series.length + 1, end < 0 ? undefined : end));
}
