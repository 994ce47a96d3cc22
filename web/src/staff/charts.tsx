// Charts drawn with plain HTML and CSS (no chart library): horizontal bars, stacked parts, dashed target lines. Text
// stays readable at any width (a scaled SVG's text would shrink on a phone). The drawing is hidden from assistive
// technology: each chart carries a one-sentence summary, and the page shows its figures as a table under it.
import type { ComponentChildren } from "preact";

export interface Part {
  value: number;
  tone: string;
  /** What the part is, for the legend. */
  name: string;
}

export interface Bar {
  parts: Part[];
  /** The figure written at the bar's end. */
  text: string;
}

export interface ChartRow {
  key: string;
  label: string;
  bars: Bar[];
  /** Instead of bars (e.g. "численность не задана"). */
  note?: string;
}

export interface Target {
  value: number;
  label: string;
  tone: string;
}

export function BarChart({
  id,
  title,
  summary,
  rows,
  max,
  targets = [],
  children,
}: {
  id: string;
  title: string;
  summary: string;
  rows: ChartRow[];
  /** The value a full-width bar stands for. */
  max: number;
  targets?: Target[];
  children?: ComponentChildren;
}) {
  const scale = max > 0 ? max : 1;
  const width = (value: number) => `${Math.max(0, Math.min(100, (100 * value) / scale))}%`;
  const legend = new Map<string, string>();
  for (const row of rows) for (const bar of row.bars) for (const part of bar.parts) legend.set(part.tone, part.name);
  return (
    <figure class="chart" aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`} data-chart={id}>
      <figcaption id={`${id}-title`} class="chart-title">
        {title}
      </figcaption>
      <p id={`${id}-summary`} class="visually-hidden">
        {summary}
      </p>
      <div class="chart-key" aria-hidden="true">
        {[...legend].map(([tone, name]) => (
          <span key={tone} class="chart-key-item">
            <span class={`swatch chart-tone-${tone}`} />
            {name}
          </span>
        ))}
        {targets.map((target) => (
          <span key={target.label} class="chart-key-item">
            <span class={`chart-key-line chart-line-${target.tone}`} />
            {target.label}
          </span>
        ))}
      </div>
      <div class="chart-rows" aria-hidden="true">
        {rows.map((row) => (
          <div key={row.key} class="chart-row" data-row={row.key}>
            <span class="chart-label">{row.label}</span>
            <span class="chart-bars">
              {row.note ? (
                <span class="chart-note">{row.note}</span>
              ) : (
                row.bars.map((bar, i) => (
                  <span key={i} class={`chart-bar${i > 0 ? " chart-bar-thin" : ""}`}>
                    <span class="chart-track">
                      {bar.parts.map((part) =>
                        part.value > 0 ? (
                          <span key={part.tone} class={`chart-part chart-tone-${part.tone}`} style={{ width: width(part.value) }} />
                        ) : null,
                      )}
                      {targets.map((target) => (
                        <span key={target.label} class={`chart-target chart-line-${target.tone}`} style={{ left: width(target.value) }} />
                      ))}
                    </span>
                    <span class="chart-value">{bar.text}</span>
                  </span>
                ))
              )}
            </span>
          </div>
        ))}
      </div>
      {children}
    </figure>
  );
}

/** 0.0534 → "5,3 %". */
export function percent(share: number | null | undefined, digits = 1): string {
  if (share === null || share === undefined) return "—";
  return `${(share * 100).toFixed(digits).replace(".", ",")} %`;
}
