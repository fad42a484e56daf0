// The world map: projection, the SVG base layer (sphere, graticule, countries) and the
// two canvases stacked on it (markers, then arcs). Pans and zooms with d3-zoom (wheel, drag,
// pinch, the buttons, the keyboard): the zoom is folded into the projection, so everything
// drawn through it follows. While the map moves, the base layer is only moved and scaled as
// a whole (a CSS transform, which the compositor does without repainting) and it is drawn
// anew at the new zoom once the map rests. Redraws everything on resize.

import { geoContains, geoGraticule10, geoNaturalEarth1, geoPath, type GeoProjection } from "d3-geo";
import { numericToAlpha2 } from "i18n-iso-countries";
import { select, type Selection } from "d3-selection";
import { zoom, zoomIdentity, zoomTransform, type ZoomBehavior, type ZoomTransform } from "d3-zoom";
import { feature, mesh } from "topojson-client";
import type { Topology, GeometryCollection } from "topojson-specification";
import type { Feature, FeatureCollection, Geometry } from "geojson";
import world from "world-atlas/countries-110m.json";

const SVG_NS = "http://www.w3.org/2000/svg";
/** Deepest zoom: about a city's width across the screen. */
const MAX_ZOOM = 64;
/** One press of a zoom button or key. */
const ZOOM_STEP = 2;
/** The map "rests" this long after its last pan or zoom step; the layers are drawn anew. */
const REST_MS = 150;

/** A pan and zoom: the factor and the offset in CSS px. */
export interface Zoom {
  k: number;
  x: number;
  y: number;
}

/** The CSS transform that shows a layer drawn at zoom `drawn` as it would be at `now`. */
export function movedBy(drawn: Zoom, now: Zoom): string {
  const s = now.k / drawn.k;
  return `translate(${now.x - drawn.x * s}px, ${now.y - drawn.y * s}px) scale(${s})`;
}

export interface Layer {
  canvas: HTMLCanvasElement;
  ctx: CanvasRenderingContext2D;
}

type CountryProps = { name: string };

export class WorldMap {
  readonly projection: GeoProjection = geoNaturalEarth1();
  readonly markers: Layer;
  readonly arcs: Layer;
  width = 0;
  height = 0;
  dpr = 1;

  private readonly svg: SVGSVGElement;
  /** The base layer's content. */
  private readonly viewport: SVGGElement;
  /** The zoom the base layer was last drawn at. */
  private baseAt: Zoom = { k: 1, x: 0, y: 0 };
  private restTimer = 0;
  private readonly restListeners: (() => void)[] = [];
  private readonly zoomBehavior: ZoomBehavior<HTMLElement, unknown>;
  private readonly zoomTarget: Selection<HTMLElement, unknown, null, undefined>;
  /** The projection's fit to the window, before zooming. */
  private baseScale = 1;
  private baseTranslate: [number, number] = [0, 0];
  private readonly zoomListeners: (() => void)[] = [];
  private readonly countries: Feature<Geometry, CountryProps>[];
  private readonly borders: ReturnType<typeof mesh>;
  private readonly resizeListeners: (() => void)[] = [];

  constructor(private readonly container: HTMLElement) {
    const topo = world as unknown as Topology<{ countries: GeometryCollection<CountryProps> }>;
    const fc = feature(topo, topo.objects.countries) as FeatureCollection<Geometry, CountryProps>;
    this.countries = fc.features;
    this.borders = mesh(topo, topo.objects.countries, (a, b) => a !== b);

    this.svg = document.createElementNS(SVG_NS, "svg");
    this.svg.setAttribute("class", "basemap");
    this.svg.setAttribute("role", "img");
    this.svg.setAttribute("aria-label", "World map");
    this.viewport = document.createElementNS(SVG_NS, "g");
    this.viewport.setAttribute("class", "viewport");
    this.svg.appendChild(this.viewport);
    this.markers = this.makeLayer("markers");
    this.arcs = this.makeLayer("arcs");
    container.append(this.svg, this.markers.canvas, this.arcs.canvas);

    this.zoomBehavior = zoom<HTMLElement, unknown>()
      .scaleExtent([1, MAX_ZOOM])
      .on("zoom", (e: { transform: ZoomTransform }) => this.applyZoom(e.transform));
    this.zoomTarget = select(container);
    // A double click would also be two clicks on a country (which filter by it): zoom with
    // the wheel, a pinch, the buttons or the keys instead.
    this.zoomTarget.call(this.zoomBehavior).on("dblclick.zoom", null);
    container.tabIndex = 0;
    container.setAttribute("aria-label", "World map: drag or use the arrow keys to pan, + and − to zoom, 0 to reset");
    container.addEventListener("keydown", (e) => this.onKey(e));

    let pending = 0;
    const onResize = () => {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(() => this.resize());
    };
    window.addEventListener("resize", onResize);
    new ResizeObserver(onResize).observe(container);
    this.resize();
  }

  /** Called after every pan or zoom (the projection already moved). */
  onZoom(fn: () => void): void {
    this.zoomListeners.push(fn);
  }

  /** The current pan and zoom (k: the factor, x and y: the offset in CSS px). */
  get transform(): Zoom {
    const t = zoomTransform(this.zoomTarget.node()!);
    return { k: t.k, x: t.x, y: t.y };
  }

  /** The current zoom factor (1: the whole world). */
  get zoomLevel(): number {
    return zoomTransform(this.zoomTarget.node()!).k;
  }

  /** Zoom in (factor > 1) or out around the centre. */
  zoomBy(factor: number): void {
    this.zoomBehavior.scaleBy(this.zoomTarget, factor);
  }

  /** Back to the whole world. */
  resetZoom(): void {
    this.zoomBehavior.transform(this.zoomTarget, zoomIdentity);
  }

  /** Pan by (dx, dy) screen pixels. */
  panBy(dx: number, dy: number): void {
    const k = this.zoomLevel;
    this.zoomBehavior.translateBy(this.zoomTarget, dx / k, dy / k);
  }

  private onKey(e: KeyboardEvent): void {
    if (e.target !== e.currentTarget || e.altKey || e.ctrlKey || e.metaKey) return;
    const step = 80;
    const actions: Record<string, () => void> = {
      "+": () => this.zoomBy(ZOOM_STEP),
      "=": () => this.zoomBy(ZOOM_STEP),
      "-": () => this.zoomBy(1 / ZOOM_STEP),
      "0": () => this.resetZoom(),
      ArrowLeft: () => this.panBy(step, 0),
      ArrowRight: () => this.panBy(-step, 0),
      ArrowUp: () => this.panBy(0, step),
      ArrowDown: () => this.panBy(0, -step),
    };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    action();
  }

  /** Folds the zoom into the projection and moves the base layer with it. */
  private applyZoom(t: ZoomTransform): void {
    this.projection
      .scale(this.baseScale * t.k)
      .translate([t.k * this.baseTranslate[0] + t.x, t.k * this.baseTranslate[1] + t.y]);
    this.svg.style.transform = movedBy(this.baseAt, t);
    window.clearTimeout(this.restTimer);
    this.restTimer = window.setTimeout(() => {
      this.drawBase();
      for (const fn of this.restListeners) fn();
    }, REST_MS);
    for (const fn of this.zoomListeners) fn();
  }

  /** Called once the map rests after panning or zooming (the base is drawn anew first). */
  onRest(fn: () => void): void {
    this.restListeners.push(fn);
  }

  /** Called after every resize, once the projection fits the new size. */
  onResize(fn: () => void): void {
    this.resizeListeners.push(fn);
  }

  /** Screen position (CSS px, relative to the map container) of a lon/lat, or null. */
  project(lon: number, lat: number): [number, number] | null {
    const p = this.projection([lon, lat]);
    return p && Number.isFinite(p[0]) && Number.isFinite(p[1]) ? [p[0], p[1]] : null;
  }

  /** The country at a client point, as an ISO 3166-1 alpha-2 code and a name; null over the
   * sea or a territory without a code. */
  countryAt(clientX: number, clientY: number): { code: string; name: string } | null {
    const r = this.container.getBoundingClientRect();
    const at = this.projection.invert?.([clientX - r.left, clientY - r.top]);
    if (!at) return null;
    const country = this.countries.find((c) => geoContains(c, at));
    const code = country?.id === undefined ? undefined : numericToAlpha2(String(country.id));
    return country && code ? { code, name: country.properties.name } : null;
  }

  /** The map container's position in client coordinates. */
  origin(): DOMRect {
    return this.container.getBoundingClientRect();
  }

  private makeLayer(name: string): Layer {
    const canvas = document.createElement("canvas");
    canvas.className = `layer layer-${name}`;
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("canvas 2D context unavailable");
    return { canvas, ctx };
  }

  private resize(): void {
    const rect = this.container.getBoundingClientRect();
    const width = Math.max(1, Math.round(rect.width));
    const height = Math.max(1, Math.round(rect.height));
    const dpr = Math.min(window.devicePixelRatio || 1, 3);
    if (width === this.width && height === this.height && dpr === this.dpr) return;
    this.width = width;
    this.height = height;
    this.dpr = dpr;

    const pad = Math.max(8, Math.min(width, height) * 0.02);
    this.projection.fitExtent(
      [
        [pad, pad],
        [width - pad, height - pad],
      ],
      { type: "Sphere" },
    );
    this.baseScale = this.projection.scale();
    this.baseTranslate = this.projection.translate();
    this.zoomBehavior
      .extent([
        [0, 0],
        [width, height],
      ])
      .translateExtent([
        [0, 0],
        [width, height],
      ]);

    for (const layer of [this.markers, this.arcs]) {
      layer.canvas.width = Math.round(width * dpr);
      layer.canvas.height = Math.round(height * dpr);
      layer.canvas.style.width = `${width}px`;
      layer.canvas.style.height = `${height}px`;
      layer.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    }
    // Keep the zoom, within the new extent, then draw the base at it.
    this.zoomBehavior.transform(this.zoomTarget, zoomTransform(this.zoomTarget.node()!));
    this.drawBase();
    for (const fn of this.resizeListeners) fn();
  }

  /** Draws the base layer at the current zoom. */
  private drawBase(): void {
    const path = geoPath(this.projection);
    const t = zoomTransform(this.zoomTarget.node()!);
    this.baseAt = { k: t.k, x: t.x, y: t.y };
    this.svg.style.transform = "";
    this.svg.setAttribute("viewBox", `0 0 ${this.width} ${this.height}`);
    this.svg.setAttribute("width", String(this.width));
    this.svg.setAttribute("height", String(this.height));
    this.viewport.replaceChildren();

    const add = (cls: string, d: string | null, title?: string) => {
      if (!d) return;
      const p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("class", cls);
      p.setAttribute("d", d);
      if (title) {
        const t = document.createElementNS(SVG_NS, "title");
        t.textContent = title;
        p.appendChild(t);
      }
      this.viewport.appendChild(p);
    };

    add("sphere", path({ type: "Sphere" }));
    add("graticule", path(geoGraticule10()));
    const g = document.createElementNS(SVG_NS, "g");
    g.setAttribute("class", "countries");
    this.viewport.appendChild(g);
    for (const c of this.countries) {
      const d = path(c);
      if (!d) continue;
      const p = document.createElementNS(SVG_NS, "path");
      p.setAttribute("class", "country");
      p.setAttribute("d", d);
      g.appendChild(p);
    }
    add("borders", path(this.borders));
    add("sphere-outline", path({ type: "Sphere" }));
  }
}
